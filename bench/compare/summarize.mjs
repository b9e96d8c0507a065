// Medians (min–max) of a results file of bench/compare/run.sh, as a Markdown table.
//   node summarize.mjs .results/<time>.jsonl
import { readFileSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  console.error("usage: node summarize.mjs RESULTS.jsonl");
  process.exit(2);
}
const rows = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const groups = new Map();
for (const r of rows) {
  const key = `${r.bench}\t${r.system}\t${r.variant}`;
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(r);
}
const fmt = (x) => (x === null || x === undefined ? "—" : Number.isInteger(x) ? x.toLocaleString("en-US") : String(x));
const stat = (rs, field) => {
  const v = rs.map((r) => r[field]).filter((x) => typeof x === "number").sort((a, b) => a - b);
  if (v.length === 0) return "—";
  const median = v[Math.floor((v.length - 1) / 2)];
  return v.length === 1 ? fmt(median) : `**${fmt(median)}** (${fmt(v[0])}–${fmt(v[v.length - 1])})`;
};
console.log("| measurement | system | set-up | result, median (min–max) | CPU µs per job (node + PostgreSQL) | load average (1 min) at start |");
console.log("| --- | --- | --- | --- | ---: | --- |");
for (const [key, rs] of groups) {
  const [bench, system, variant] = key.split("\t");
  let result;
  if (bench === "latency") result = `p50 ${stat(rs, "p50_ms")} ms, p99 ${stat(rs, "p99_ms")} ms`;
  else result = `${stat(rs, "jobs_per_sec")} jobs/s`;
  const loads = rs.map((r) => r.load1_start).filter((x) => x !== undefined);
  console.log(`| ${bench} | ${system} ${rs[0].version} | ${variant} | ${result} | ${stat(rs, "cpu_us_per_job")} | ${loads.join(", ")} |`);
}
