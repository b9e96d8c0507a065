// Creates or drops one benchmark database on the server PG_URL points to (through its `postgres`
// database). `create` prints the new database's URL.
//   node admin.mjs create|drop BASE_URL NAME
import pg from "pg";

const [command, baseUrl, name] = process.argv.slice(2);
if (!["create", "drop"].includes(command) || !baseUrl || !/^[a-z_][a-z0-9_]*$/.test(name ?? "")) {
  console.error("usage: node admin.mjs create|drop BASE_URL NAME (name: lower-case letters, digits, _)");
  process.exit(2);
}
const url = (db) => {
  const u = new URL(baseUrl);
  u.pathname = `/${db}`;
  return u.toString();
};
const client = new pg.Client({ connectionString: url("postgres") });
await client.connect();
try {
  await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  if (command === "create") {
    await client.query(`CREATE DATABASE ${name}`);
    console.log(url(name));
  }
} finally {
  await client.end();
}
