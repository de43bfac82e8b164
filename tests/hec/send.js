// Sends every line of an NDJSON file of UiPath events to a HEC endpoint with Splunk's own
// client, splunk-logging, as a Splunk-bound exporter would: batches of 50 (string `time`
// values, as the library formats them), an empty flush first and another one last.
// Usage: node send.js URL TOKEN FILE. Exits 1 if the library reports any error.
"use strict";
const path = require("path");
const fs = require("fs");
const modules = process.env.BOTLAKE_NODE_MODULES;
const SplunkLogger = require(path.join(modules, "splunk-logging")).Logger;

const [url, token, file] = process.argv.slice(2);
const logger = new SplunkLogger({ token, url, maxBatchCount: 50, maxRetries: 5 });
// The UiPath event itself is the HEC event, not wrapped in {message, severity}.
logger.eventFormatter = (message) => message;
logger.error = (err, context) => {
  console.error("splunk-logging error:", err && err.message, JSON.stringify(context).slice(0, 200));
  process.exitCode = 1;
};

const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim());
logger.flush(); // an empty flush, as the library makes on timers with nothing queued
for (const line of lines) {
  logger.send({
    message: JSON.parse(line),
    metadata: { host: "orchestrator", source: "uipath-insights", sourcetype: "uipath:insights" },
  });
}
logger.flush((err, resp) => {
  if (err) {
    console.error("final flush failed:", err.message);
    process.exitCode = 1;
  }
  logger.flush(); // and an empty one after the last batch
  console.log(`sent ${lines.length} events`);
});
