// An independent HTTP/1.1 parser for the framing corpus: Node.js's server
// (llhttp, strict mode). Answers 200 to whatever it parses; what llhttp or
// Node refuses gets its own 4xx. Prints the port it listens on.
'use strict';
const http = require('http');

const server = http.createServer({ requireHostHeader: true }, (req, res) => {
  req.resume();
  req.on('end', () => res.end('ok'));
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
