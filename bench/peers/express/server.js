// The Okta token inline hook sample service, as Okta's token inline hook guide
// (developer.okta.com/docs/guides/token-inline-hook/nodejs/main/) writes it:
// Express, express-basic-auth on every route, express.json(), a hard-coded
// patients array, 200 with one com.okta.identity.patch command for a patient,
// 204 for anyone else.
//
// Differences from the guide, all in Express's favour or neutral for a
// benchmark: no per-request console.log (the guide logs twice per request),
// credentials default to the guide's .env values instead of loading dotenv,
// the claim is named patientId (like the tokenhook benchmark data) instead of
// extPatientId, and res.json() replaces res.send(JSON.stringify(...)).
//
// Usage: PORT=8082 node server.js   (or: node server.js 8082)
'use strict';

const express = require('express');
const basicAuth = require('express-basic-auth');

const port = Number(process.argv[2] || process.env.PORT || 8082);
const host = process.env.HOST || '127.0.0.1';
const user = process.env.BASIC_AUTH_USER || 'admin';
const password = process.env.BASIC_AUTH_PASSWORD || 'supersecret';

const app = express();
app.use(basicAuth({ users: { [user]: password } }));
app.use(express.json());

const patients = [
  { username: 'jessie.smith@example.com', ExternalServicePatientID: '1235' },
  { username: 'kim.sato@example.com', ExternalServicePatientID: '6789' },
  { username: 'rajiv.tal@example.com', ExternalServicePatientID: '4235' },
];

app.post('/tokenHook', (request, response) => {
  const patientName = request.body.data.identity.claims['preferred_username'];
  const patient = patients.find((p) => p.username === patientName);
  if (!patient) {
    response.status(204).send();
    return;
  }
  response.json({
    commands: [
      {
        type: 'com.okta.identity.patch',
        value: [
          { op: 'add', path: '/claims/patientId', value: patient.ExternalServicePatientID },
        ],
      },
    ],
  });
});

const server = app.listen(port, host, () => {
  console.log(`token hook sample listening on http://${host}:${port}/tokenHook`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
