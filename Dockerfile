# The API (and client.py) in a container; docker-compose.yml runs it.
FROM python:3.11-slim

WORKDIR /app
# Every dependency, indirect ones included, at the version constraints.txt pins.
COPY pyproject.toml README.md constraints.txt ./
COPY kcguard ./kcguard
RUN pip install --no-cache-dir -c constraints.txt ".[app,postgres,client]" \
    && useradd --system --uid 10001 app \
    && mkdir /data && chown app /data
COPY server.py client.py ./

USER app
EXPOSE 50100
# The production server (granian; `python -m kcguard.devstack serve` reads HOST, PORT and
# WEB_CONCURRENCY). Inside the container the API must listen beyond loopback; the compose
# file publishes it on the host's 127.0.0.1 only.
ENV HOST=0.0.0.0 PORT=50100 WEB_CONCURRENCY=2
CMD ["python", "-m", "kcguard.devstack", "serve"]
