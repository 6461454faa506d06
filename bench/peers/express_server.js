// The Node peer of bench/run.py: express-oauth2-jwt-bearer with the same issuer and audience.
// ISSUER=... AUDIENCE=... PORT=... node express_server.js
const express = require("express");
const { auth, requiredScopes } = require("express-oauth2-jwt-bearer");

const PUBLIC = "Hello from a public endpoint! You don't need to be authenticated to see this.";
const PRIVATE = "Hello from a private endpoint! You need to be authenticated to see this.";
const SCOPED = "Hello from a private endpoint! You need to be authenticated and have a scope of test_api_access to see this.";
const app = express();
const checkJwt = auth({ issuerBaseURL: process.env.ISSUER, audience: process.env.AUDIENCE });
app.get("/api/public", (req, res) => res.json({ message: PUBLIC }));
app.get("/api/private", checkJwt, (req, res) => res.json({ message: PRIVATE }));
app.get("/api/private-scoped", checkJwt, requiredScopes("test_api_access"), (req, res) =>
  res.json({ message: SCOPED }));
app.listen(Number(process.env.PORT), "127.0.0.1");
