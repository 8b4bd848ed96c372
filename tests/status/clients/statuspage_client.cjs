// Every v2 call of the npm `statuspage.io` client against one base URL, printed as JSON.
// Usage: node statuspage_client.cjs BASE   (BASE: {service}/status/{ContextIdentifier})
'use strict';
const path = require('path');
const root = path.resolve(__dirname, '..', '..', '..');
const { Statuspage } = require(path.join(root, '.ci', 'node', 'node_modules', 'statuspage.io'));

async function main(base) {
  const client = new Statuspage('tenantstatus');
  client.setApiUrl(base);
  const api = client.api;
  return {
    summary: await api.getSummary(),
    status: await api.getStatus(),
    components: await api.getComponents(),
    incidents: await api.incidents.getAll(),
    unresolved: await api.incidents.getUnresolved(),
    upcoming: await api.scheduledMaintenances.getUpcoming(),
    active: await api.scheduledMaintenances.getActive(),
    all: await api.scheduledMaintenances.getAll(),
  };
}

main(process.argv[2]).then(
  (result) => process.stdout.write(JSON.stringify(result)),
  (error) => {
    const status = error.response ? error.response.status : 'none';
    process.stderr.write(`statuspage.io failed: HTTP ${status}: ${error.message}\n`);
    process.exit(3);
  },
);
