"""The commands this plugin adds to ``gridguard``: ``serve``, ``token`` and ``export fhir``.

Imported only when the ``register_commands`` hook is called; each command
imports what it needs inside, so ``gridguard --help`` stays quick. Each
takes ``--lang`` (gridguard adds it); what they print for people follows it,
``token list`` and ``export fhir`` print JSON.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from gridguard.cli import say

__all__ = ["export", "serve", "token"]


def _db(value: str | None) -> str:
    from gridguard.workspace import resolve_url

    return resolve_url(value)


@click.command()
@click.option("--db", envvar="GRIDGUARD_DB", required=True, help="The store's URL or SQLite file.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--tokens", type=click.Path(dir_okay=False), help="The API token file.")
@click.option(
    "--gateway-key-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Key shared with a trusted gateway (or GRIDGUARD_HTTP_GATEWAY_KEY): gateway mode.",
)
@click.option("--pool", default=4, show_default=True, type=int, help="Storages kept open.")
@click.option(
    "--key", type=click.Path(exists=True, dir_okay=False), help="Field-encryption key file."
)
@click.option("--log-level", default="info", show_default=True)
def serve(
    db: str,
    host: str,
    port: int,
    tokens: str | None,
    gateway_key_file: str | None,
    pool: int,
    key: str | None,
    log_level: str,
) -> None:
    """Serve the store over HTTP (one uvicorn worker; put TLS in front of it)."""
    import uvicorn

    from .app import Settings, create_app
    from .auth import gateway_key

    settings = Settings(
        db=_db(db), tokens=tokens, gateway_key=gateway_key(gateway_key_file), pool=pool, key=key
    )
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False)


@click.group()
def token() -> None:
    """API tokens for the HTTP API: one per principal, kept hashed."""


@token.command("create")
@click.option("--db", envvar="GRIDGUARD_DB", required=True, help="The store's URL or SQLite file.")
@click.option("--tokens", type=click.Path(dir_okay=False), help="The API token file.")
@click.option("--role", required=True, help="grid_worker, building_observer, community_doctor...")
@click.option("--area", "area_id", help="The area subtree the token may reach.")
@click.option("--building", "building_id", help="A building observer's building.")
@click.option("--name", help="Whom the token is for (the audit log's principal).")
def token_create(
    db: str,
    tokens: str | None,
    role: str,
    area_id: str | None,
    building_id: str | None,
    name: str | None,
) -> None:
    """Make a token and print it once: only its hash is kept."""
    from gridguard import Principal

    from .auth import TokenStore, tokens_path

    principal = Principal(
        name=name or f"{role}@{area_id or building_id or '*'}",
        role=role,
        area_id=area_id,
        building_id=building_id,
    )
    store = TokenStore(tokens_path(_db(db), tokens))
    token_id, secret = store.create(principal)
    click.echo(secret)
    click.echo(
        say(
            f"令牌 {token_id} 已发给 {principal}（以散列保存在 {store.path}）",
            f"token {token_id} for {principal} (kept hashed in {store.path})",
        ),
        err=True,
    )


@token.command("list")
@click.option("--db", envvar="GRIDGUARD_DB", required=True)
@click.option("--tokens", type=click.Path(dir_okay=False))
def token_list(db: str, tokens: str | None) -> None:
    """The tokens made (ids and principals; never the tokens)."""
    from .auth import TokenStore, tokens_path

    for entry in TokenStore(tokens_path(_db(db), tokens)).listing():
        click.echo(json.dumps(entry, ensure_ascii=False))


@token.command("revoke")
@click.option("--db", envvar="GRIDGUARD_DB", required=True)
@click.option("--tokens", type=click.Path(dir_okay=False))
@click.argument("token_id")
def token_revoke(db: str, tokens: str | None, token_id: str) -> None:
    """Forget a token by its id."""
    from .auth import TokenStore, tokens_path

    if not TokenStore(tokens_path(_db(db), tokens)).revoke(token_id):
        raise click.ClickException(say(f"没有令牌 {token_id!r}", f"no token {token_id!r}"))


@click.group()
def export() -> None:
    """Export the store in a health-data standard."""


@export.command("fhir")
@click.option("--db", envvar="GRIDGUARD_DB", required=True, help="The store's URL or SQLite file.")
@click.option("--area", help="Only this area's subtree.")
@click.option("--since", help="Only facts at or after this ISO date or date-time.")
@click.option("--out", type=click.Path(dir_okay=False), help="File to write (default: stdout).")
@click.option("--unmask", is_flag=True, help="Names and identity numbers in clear (audited).")
def export_fhir(
    db: str, area: str | None, since: str | None, out: str | None, unmask: bool
) -> None:
    """One FHIR R4 Bundle (JSON) of places, households, persons and their facts."""
    import gridguard

    from .fhir import bundle, parse_since

    with gridguard.open(_db(db), purpose="FHIR export") as ws:
        data: dict[str, Any] = bundle(ws, area=area, since=parse_since(since), unmask=unmask)
    text = json.dumps(data, ensure_ascii=False)
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)


def add_commands(cli: click.Group) -> None:
    """Add ``serve``, ``token`` and ``export`` (``export fhir``) to ``cli``."""
    cli.add_command(serve)
    cli.add_command(token)
    existing = cli.commands.get("export")
    if isinstance(existing, click.Group):
        existing.add_command(export_fhir)
    else:
        cli.add_command(export)
