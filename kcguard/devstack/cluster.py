"""Keycloak as a cluster on one machine: nodes in production mode sharing one PostgreSQL database.

The nodes find each other through Keycloak's default discovery (``jdbc-ping``:
each node writes its JGroups address into the shared database) and form one
Infinispan cluster over TCP on 127.0.0.1, each on its own HTTP, management and
cluster ports. They share ``KC_HOSTNAME``, so every node issues tokens with the
same ``iss``. The first node imports the realm; the others start once it is
ready (Keycloak's database lock would serialise them anyway).
"""

from __future__ import annotations

import logging
import time

from .errors import DevStackError
from .processes import free_port
from .server import KeycloakServer, cluster_server_image

logger = logging.getLogger(__name__)


class KeycloakCluster:
    """``nodes`` clustered Keycloak processes on 127.0.0.1; a context manager."""

    def __init__(
        self,
        *,
        db_url: str,
        db_username: str,
        db_password: str,
        nodes: int = 2,
        hostname: str | None = None,
        http_ports: list[int] | None = None,
        management_ports: list[int] | None = None,
        admin_password: str | None = None,
        join_timeout: float = 120.0,
        startup_timeout: float = 360.0,
    ) -> None:
        if nodes < 1:
            raise DevStackError("a cluster needs at least one node")
        http_ports = http_ports or [free_port() for _ in range(nodes)]
        management_ports = management_ports or [free_port() for _ in range(nodes)]
        first = KeycloakServer(
            http_port=http_ports[0],
            management_port=management_ports[0],
            hostname=hostname,
            admin_password=admin_password,
            db_url=db_url,
            db_username=db_username,
            db_password=db_password,
            cluster_port=free_port(),
            startup_timeout=startup_timeout,
        )
        self.nodes = [first] + [
            KeycloakServer(
                http_port=http_ports[index],
                management_port=management_ports[index],
                hostname=first.hostname,
                admin_password=first.admin_password,
                db_url=db_url,
                db_username=db_username,
                db_password=db_password,
                cluster_port=free_port(),
                import_realm=False,
                startup_timeout=startup_timeout,
            )
            for index in range(1, nodes)
        ]
        self.join_timeout = join_timeout
        self.startup_seconds: float | None = None

    @property
    def issuer(self) -> str:
        return self.nodes[0].issuer

    def __enter__(self) -> KeycloakCluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Build (once, cached) the server image, then start the nodes in turn and wait until they see each other."""
        cluster_server_image()
        started = time.monotonic()
        try:
            for node in self.nodes:
                node.start()
            self.wait_for_size(len(self.nodes))
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        logger.info(
            "Keycloak cluster of %d nodes ready in %.1f s, using %d MiB of memory in all",
            len(self.nodes),
            self.startup_seconds,
            sum(node.rss_bytes or 0 for node in self.nodes) // 2**20,
        )

    def running(self) -> list[KeycloakServer]:
        return [node for node in self.nodes if node.pid is not None]

    def wait_for_size(self, size: int) -> None:
        """Until every running node reports a cluster of ``size`` nodes (the ``vendor_cluster_size`` metric)."""
        deadline = time.monotonic() + self.join_timeout
        while time.monotonic() < deadline:
            sizes = [node.cluster_size() for node in self.running()]
            if sizes and all(seen == size for seen in sizes):
                logger.info("Every node sees a cluster of %d", size)
                return
            time.sleep(0.5)
        raise DevStackError(f"the Keycloak nodes did not form a cluster of {size} within {self.join_timeout:.0f} s")

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
