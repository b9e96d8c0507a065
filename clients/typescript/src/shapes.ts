// Shallow checks that an answer is what Jobkeeper sends for a route. They catch a wrong server (another service on the
// port, a proxy's JSON error page) early, as NotJobkeeperError, instead of letting `undefined` leak into the caller's code.
// They look only at the members the client itself relies on; the generated types describe the rest.

/** A predicate over a parsed JSON answer. */
export type Shape = (value: unknown) => boolean;

type Json = Record<string, unknown>;

function object(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const has = (value: Json, key: string, kind: "string" | "number" | "boolean"): boolean => typeof value[key] === kind;

const listOf = (key: string, item: Shape): Shape => (v) => object(v) && Array.isArray(v[key]) && (v[key] as unknown[]).every(item);

export const job: Shape = (v) => object(v) && has(v, "id", "string") && has(v, "type", "string") && has(v, "status", "string");
export const jobList: Shape = (v) => listOf("items", job)(v) && (v as Json)["next_cursor"] !== undefined;
export const event: Shape = (v) => object(v) && has(v, "job_id", "string") && has(v, "type", "string");
export const eventList: Shape = (v) => listOf("items", event)(v) && (v as Json)["next_after"] !== undefined;
export const batch: Shape = (v) => object(v) && has(v, "created", "number") && listOf("items", (i) => object(i) && has(i, "outcome", "string"))(v);
export const workItem: Shape = (v) => object(v) && has(v, "id", "string") && has(v, "type", "string") && has(v, "lease_token", "string");
export const claim: Shape = listOf("jobs", workItem);
export const lease: Shape = (v) => object(v) && has(v, "id", "string") && has(v, "cancel_requested", "boolean");
export const prompt: Shape = (v) => object(v) && has(v, "key", "string") && has(v, "question", "string");
export const ask: Shape = (v) => object(v) && has(v, "waiting", "boolean") && has(v, "status", "string");
export const health: Shape = (v) => object(v) && has(v, "status", "string") && object(v["store"]);
export const workerList: Shape = (v) => object(v) && Array.isArray((v as { items?: unknown }).items);
export const bulk: Shape = (v) => object(v) && has(v, "matched", "number") && has(v, "changed", "number");
export const cleanup: Shape = (v) => object(v) && has(v, "deleted_count", "number");
export const queue: Shape = (v) => object(v) && has(v, "name", "string") && object(v["counts"]);
export const queueList: Shape = listOf("items", queue);
export const schedule: Shape = (v) => object(v) && has(v, "name", "string") && object(v["job"]);
export const scheduleList: Shape = listOf("items", schedule);
export const trigger: Shape = (v) => object(v) && job(v["job"]) && schedule(v["schedule"]);

/** Whether `value` looks like an RFC 9457 problem document (what every Jobkeeper refusal carries). */
export const problem: Shape = (v) =>
  object(v) && (typeof v["type"] === "string" || typeof v["title"] === "string") && (v["status"] === undefined || typeof v["status"] === "number");
