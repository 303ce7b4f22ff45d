"""The ``gridguard keys`` commands: field-encryption keys of a SQLite store.

``keys new`` adds a fresh key to a key file, ``keys rotate`` re-encrypts a
store's identity numbers and phones under the key file's current key (the
first rotation encrypts a store kept in clear), ``keys status`` says which
keys a store uses. Like :mod:`gridguard.cli`, this module imports click
only; the work is imported inside each command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._common import (
    db_option,
    echo,
    echo_json,
    echo_path,
    json_option,
    say,
)

__all__ = ["keys"]

KEY_FILE_ENV = "GRIDGUARD_KEY_FILE"  # the same variable gridguard.security.crypto.keys reads

_db_option = db_option("SQLite file path or sqlite:/// URL.")
_key_file_option = click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=KEY_FILE_ENV,
    default=None,
    help=f"Key file; without it, the key in GRIDGUARD_KEY. [env: {KEY_FILE_ENV}]",
)


def _ring(key_file: Path | None) -> Any:
    from ..errors import ConfigError
    from ..security.crypto.keys import KEY_ENV, keyring_from_environment, read_key_file

    if key_file is not None:
        return read_key_file(key_file)
    ring = keyring_from_environment()
    if ring is None:
        raise ConfigError(f"no key: give --key-file, or set {KEY_FILE_ENV} or {KEY_ENV}")
    return ring


def _sqlite_file(target: str) -> str:
    from ..errors import ConfigError
    from ..storage.sqlite import sqlite_path
    from ..workspace import resolve_url

    url = resolve_url(target)
    if not url.startswith("sqlite://"):
        raise ConfigError(f"field encryption is for SQLite stores; {url.split('://')[0]} is not")
    path = sqlite_path(url)
    if path == ":memory:" or not Path(path).is_file():
        raise ConfigError(f"no SQLite store at {path!r}")
    return path


@click.group()
def keys() -> None:
    """Field-encryption keys: identity numbers and phones encrypted at rest 字段加密密钥."""


@keys.command("new")
@_key_file_option
def new_key(key_file: Path | None) -> None:
    """Add a new current key to the key file (created, owner-only, if missing).

    Older keys stay in the file so that the store stays readable; run
    'gridguard keys rotate' to re-encrypt the store under the new key.
    """
    from ..errors import ConfigError
    from ..security.crypto.keys import add_key_to_file

    if key_file is None:
        raise ConfigError(f"say where the key file is: --key-file or {KEY_FILE_ENV}")
    existed = key_file.exists()
    key = add_key_to_file(key_file)
    if existed:
        echo(
            say(
                f"密钥 {key.key_id} 已加入 {key_file}（当前密钥）",
                f"key {key.key_id} added to {key_file} (the current key)",
            )
        )
        echo(
            say(
                "下一步：gridguard keys rotate --db <store>（用新密钥重新加密）",
                "next: gridguard keys rotate --db <store>  (re-encrypt under the new key)",
            )
        )
    else:
        echo(say(f"密钥 {key.key_id} 已创建于 {key_file}（当前密钥）",
                 f"key {key.key_id} created {key_file} (the current key)"))  # fmt: skip


@keys.command("rotate")
@_db_option
@_key_file_option
@json_option()
def rotate(target: str, key_file: Path | None, as_json: bool) -> None:
    """Re-encrypt the store's identity numbers and phones under the current key.

    Runs in one transaction: it finishes, or the store stays as it was.
    Encrypts a store kept in clear, too. Every older key that sealed a
    value must still be in the key file.
    """
    from ..security.crypto.rotation import rotate_keys
    from ..storage.sqlite import SQLiteStorage

    ring = _ring(key_file)
    path = _sqlite_file(target)
    storage = SQLiteStorage(path, field_encryption=False)
    try:
        result = rotate_keys(storage, ring)
    finally:
        storage.close()
    SQLiteStorage(path, keyring=ring).close()  # the store opens with the new key
    if as_json:
        echo_json({"store": path, **_as_dict(result)})
        return
    before = result.previous or say("无（明文）", "none (in clear)")
    echo(
        say(
            f"{path}：密钥 {before} -> {result.key_id}；{result.rows:,} 行中 "
            f"{result.values:,} 个值已重新加密",
            f"{path}: key {before} -> {result.key_id}; {result.values:,} values in "
            f"{result.rows:,} rows encrypted anew",
        )
    )


@keys.command("status")
@_db_option
@json_option()
def status(target: str, as_json: bool) -> None:
    """Which key the store is encrypted with, and how many persons each key sealed."""
    from ..security.crypto.rotation import key_status
    from ..storage.sqlite import SQLiteStorage

    path = _sqlite_file(target)
    storage = SQLiteStorage(path, field_encryption=False)
    try:
        found = key_status(storage)
    finally:
        storage.close()
    if as_json:
        echo_json({"store": path, **_as_dict(found)})
        return
    echo_path(say("数据库", "store"), path)
    none = say("无：以明文保存", "none: stored in clear")
    echo(f"{say('当前密钥', 'active key')}: {found.active or none}")
    if found.retired:
        echo(f"{say('已停用密钥', 'retired keys')}: {', '.join(found.retired)}")
    for key_id, count in sorted(found.persons_by_key.items()):
        echo(say(f"密钥 {key_id} 加密的人员: {count:,}", f"persons under key {key_id}: {count:,}"))
    echo(f"{say('明文值', 'values in clear')}: {found.values_in_clear:,}")
    if found.values_unbound:
        echo(
            say(
                f"未绑定行的旧格式密文: {found.values_unbound:,}（gridguard keys rotate 可绑定）",
                f"values not yet bound to their row: {found.values_unbound:,} "
                "(gridguard keys rotate binds them)",
            )
        )


def _as_dict(value: Any) -> dict[str, Any]:
    import attrs

    return attrs.asdict(value)
