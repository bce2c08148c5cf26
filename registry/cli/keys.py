"""``modelseal keygen`` and ``modelseal keys``: the keystore from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from registry.cli import console
from registry.cli.options import JsonOpt, KeysDirOpt, keystore, new_passphrase, print_json
from registry.errors import InputError


def keygen(
    name: Annotated[str, typer.Option("--name", "-n", help="Name of the key in the keystore.")] = "default",
    key_type: Annotated[
        str, typer.Option("--type", "-t", help="ed25519 (a did:key) or ethereum (a did:pkh wallet key).")
    ] = "ed25519",
    chain_id: Annotated[int, typer.Option("--chain-id", help="Chain id in a did:pkh (ethereum keys).")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing key of that name.")] = False,
    passphrase: Annotated[
        bool | None,
        typer.Option(
            "--passphrase/--no-passphrase",
            help="Seal the key with a passphrase (scrypt + AES-256-GCM) [default: when MODELSEAL_PASSPHRASE is set, "
            "or asked on a terminal; without either, the key is stored unsealed].",
        ),
    ] = None,
    keystore_dir: KeysDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a signing key in the keystore and print its DID (never the private key)."""
    from registry.signing.keys import Ed25519Key, EthereumKey, SigningKey

    key: SigningKey
    if key_type == "ed25519":
        key = Ed25519Key.generate()
    elif key_type == "ethereum":
        key = EthereumKey.generate(chain_id)
    else:
        raise InputError(f"unknown key type {key_type!r}", hint="use --type ed25519 or --type ethereum")
    secret = new_passphrase(passphrase)
    path = keystore(keystore_dir).save(name, key, overwrite=force, passphrase=secret)
    if as_json:
        print_json({"name": name, "did": key.did, "path": str(path), "sealed": secret is not None})
    else:
        console.out.print(f"created key [bold]{name}[/]: {key.did}")
        how = "sealed with your passphrase" if secret is not None else "unsealed: set MODELSEAL_PASSPHRASE to seal keys"
        console.out.print(f"stored at {path} (mode 0600, {how})")


def keys_list(keystore_dir: KeysDirOpt = None, as_json: JsonOpt = False) -> None:
    """List the keys in the keystore with their DIDs."""
    store = keystore(keystore_dir)
    rows = store.list()
    if as_json:
        print_json([{"name": n, "did": d} for n, d in rows])
        return
    if not rows:
        console.out.print(f"no keys in {store.root}; create one with `modelseal keygen`")
    for name, did in rows:
        console.out.print(f"{name}\t{did}")


def register(app: typer.Typer) -> None:
    app.command("keygen", epilog="Example: modelseal keygen --name publisher")(keygen)
    app.command("keys", epilog="Example: modelseal keys --json")(keys_list)
