#!/bin/sh
# Run by the postgres image once, when its volume is first initialised
# (/docker-entrypoint-initdb.d): the API's own role and database, apart from
# Keycloak's. The role and password come from the env file (.env.example:
# API_DB_USER / API_DB_PASSWORD, demo-only values).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v api_user="$API_DB_USER" -v api_password="$API_DB_PASSWORD" <<'SQL'
CREATE ROLE :"api_user" LOGIN PASSWORD :'api_password';
CREATE DATABASE kcguard OWNER :"api_user";
SQL
