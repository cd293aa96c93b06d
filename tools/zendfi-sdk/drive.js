// Runs the public ZendFi SDK (@zendfi/sdk, pinned in package-lock.json) as a platform would, one
// command per stdin line (JSON), answering one `RESULT <json>` line each on stdout (the SDK prints
// its own lines too). Commands:
//   {"op": "createPayment", "apiKey", "baseURL", "sessionToken"?, "request"}
//   {"op": "getPayment", "apiKey", "baseURL", "sessionToken"?, "paymentId"}
//   {"op": "verifyWebhook", "payload", "signature", "secret"}
//   {"op": "processWebhooks", "deliveries": [{"body", "signature"}], "secret"}: each delivery through
//     processWebhook with its deduplication on (merchant_id:event:timestamp), in order; their results
// An answer is {"ok": true, "data"} or {"ok": false, "error": {"name", "code", "statusCode", "message"}}.
// With a session token, a request interceptor adds X-Session-Token, as a platform paying for one
// of its sessions with its API key does; the SDK adds its own Idempotency-Key and retries.
const readline = require("node:readline");
const { ZendFiClient, processWebhook } = require("@zendfi/sdk");

function client(command) {
  const sdk = new ZendFiClient({ apiKey: command.apiKey, baseURL: command.baseURL, timeout: 30000 });
  if (command.sessionToken) {
    sdk.interceptors.request.use((request) => ({
      ...request,
      headers: { ...request.headers, "X-Session-Token": command.sessionToken },
    }));
  }
  return sdk;
}

// processWebhook marks an event processed only once its handler ran: one that accepts every event.
const acceptEvent = async () => {};

async function processDeliveries(deliveries, secret) {
  const results = [];
  for (const delivery of deliveries) {
    const handlers = new Proxy({}, { get: () => acceptEvent }); // a handler for every event name
    results.push(
      await processWebhook({
        signature: delivery.signature,
        body: delivery.body,
        handlers,
        config: { secret, enableDeduplication: true },
      }),
    );
  }
  return results;
}

async function run(command) {
  switch (command.op) {
    case "createPayment":
      return client(command).createPayment(command.request);
    case "getPayment":
      return client(command).getPayment(command.paymentId);
    case "verifyWebhook":
      return new ZendFiClient({ apiKey: "zfi_test_verifying_only", baseURL: "http://127.0.0.1:9" }).verifyWebhook({
        payload: command.payload,
        signature: command.signature,
        secret: command.secret,
      });
    case "processWebhooks":
      return processDeliveries(command.deliveries, command.secret);
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  let answer;
  try {
    answer = { ok: true, data: await run(JSON.parse(line)) };
  } catch (error) {
    answer = {
      ok: false,
      error: { name: error.name, code: error.code, statusCode: error.statusCode, message: error.message },
    };
  }
  process.stdout.write(`RESULT ${JSON.stringify(answer)}\n`);
});
