// product_receiver.js - the vendor's product as the product-event tests see it:
// a loopback HTTP server that verifies every delivery with the standardwebhooks
// npm package (an implementation independent of Switchboard's) and records it.
//
//   node product_receiver.js   (WEBHOOK_SECRET=whsec_..., NODE_PATH=<node_modules>)
//
// Prints "control <port> hook <port>" once both listen. The hook server takes
// deliveries on any path; the control server (JSON over HTTP) steers it:
//   POST /answer {"status": n}  status for the next deliveries (default 200; 0: never
//                               answer, the request hangs)
//   POST /down                  stop listening: new connections are refused
//   POST /up                    listen again on the same port
//   GET  /deliveries            every delivery so far, in arrival order
const http = require("http");
const { Webhook } = require("standardwebhooks");

const webhook = new Webhook(process.env.WEBHOOK_SECRET);
const deliveries = [];
let answerStatus = 200;
let hookPort = 0;

const hook = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks);
    const record = {
      path: req.url,
      method: req.method,
      id: req.headers["webhook-id"] || null,
      timestamp: req.headers["webhook-timestamp"] || null,
      signature: req.headers["webhook-signature"] || null,
      content_type: req.headers["content-type"] || null,
      received_at: Date.now() / 1000,
      answered: answerStatus,
      verified: false,
      error: null,
      body: null,
    };
    try {
      record.body = webhook.verify(raw, req.headers);
      record.verified = true;
    } catch (e) {
      record.error = String(e && e.message ? e.message : e);
      try {
        record.body = JSON.parse(raw.toString());
      } catch (_) {
        record.body = raw.toString();
      }
    }
    deliveries.push(record);
    if (answerStatus === 0) return; // hangs until the sender gives up
    res.writeHead(answerStatus, { "Content-Type": "application/json" });
    res.end("{}");
  });
});

function listenHook(port, then) {
  hook.listen(port, "127.0.0.1", () => {
    hookPort = hook.address().port;
    then();
  });
}

const control = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const reply = (status, value) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (req.method === "GET" && req.url === "/deliveries") return reply(200, deliveries);
    if (req.method === "POST" && req.url === "/answer") {
      answerStatus = JSON.parse(Buffer.concat(chunks).toString()).status;
      return reply(200, { status: answerStatus });
    }
    if (req.method === "POST" && req.url === "/down") {
      // Kept-alive connections too: the next attempt must find nothing listening.
      hook.close(() => reply(200, { listening: false }));
      hook.closeAllConnections();
      return undefined;
    }
    if (req.method === "POST" && req.url === "/up") {
      return listenHook(hookPort, () => reply(200, { listening: true }));
    }
    return reply(404, { error: "no such control" });
  });
});

listenHook(0, () => {
  control.listen(0, "127.0.0.1", () => {
    process.stdout.write(`control ${control.address().port} hook ${hookPort}\n`);
  });
});
