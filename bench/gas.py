"""Gas per publish: modelseal's ModelRegistry against EAS, deployed side by side on one anvil.

Run: ``.venv/bin/python bench/gas.py [--json]`` (after ``make setup``). Starts a throwaway anvil
on a free port, deploys ModelRegistry and EAS (SchemaRegistry + EAS, compiled by the same
Hardhat build), and measures whole-transaction ``gasUsed`` from receipts:

* ModelRegistry ``publishRelease`` for new weights and for weights already published, and the
  other life-cycle calls;
* EAS ``attest`` with 32 bytes of data (schema ``bytes32 digest``) - the comparator of the target
  "one publish <= 0.5x EAS attest";
* EAS ``attest`` carrying what a release needs (names as strings plus both digests).

Gas is deterministic for a given compiler and input, so one run per figure suffices; the figure
is the median of 5 publishes of fresh releases anyway, to show it does not drift.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from typing import Any

from eth_abi.abi import encode
from eth_account import Account
from web3 import Web3

from registry.chain.artifacts import load_artifact
from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
from registry.chain.devchain import throwaway_anvil
from registry.names import ReleaseName
from registry.signing.keys import Ed25519Key

EAS_DIR = "@ethereum-attestation-service/eas-contracts/contracts"


def _send(w3: Web3, acct: Any, fn: Any) -> Any:
    tx = fn.build_transaction(
        {
            "from": acct.address,
            "nonce": w3.eth.get_transaction_count(acct.address, "pending"),
            "chainId": w3.eth.chain_id,
        }
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
    )
    assert receipt["status"] == 1, receipt
    return receipt


def _deploy(w3: Web3, acct: Any, name: str, *args: Any) -> Any:
    art = load_artifact(name, source=f"{EAS_DIR}/{name}.sol")
    receipt = _send(w3, acct, w3.eth.contract(abi=art.abi, bytecode=art.bytecode).constructor(*args))
    return w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)


def _attest_gas(w3: Web3, acct: Any, eas: Any, schema_uid: bytes, data: bytes) -> int:
    # no recipient, no expiry, revocable: EAS's cheapest attestation, the conservative comparator
    request = (schema_uid, ("0x0000000000000000000000000000000000000000", 0, True, b"\x00" * 32, data, 0))
    return int(_send(w3, acct, eas.functions.attest(request))["gasUsed"])


def measure(rpc_url: str) -> dict[str, Any]:
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    acct = Account.from_key(ANVIL_DEV_KEYS[0])
    client, _ = RegistryClient.deploy(w3, acct)
    results: dict[str, Any] = {}

    did = Ed25519Key.generate().did
    results["claimNamespace"] = client.claim_namespace("smollm").gas_used
    results["addSigner"] = client.add_signer("smollm", did).gas_used
    new_weights, same_weights = [], []
    for i in range(5):
        weights = os.urandom(32)
        rel = ReleaseName("smollm", "smollm2-135m-instruct", f"1.0.{i}")
        new_weights.append(client.publish(rel, os.urandom(32), weights, did).gas_used)
        rel2 = ReleaseName("smollm", "smollm2-135m-instruct", f"1.0.{i}-mirror")
        same_weights.append(client.publish(rel2, os.urandom(32), weights, did).gas_used)
    results["publishRelease (new weights)"] = statistics.median(new_weights)
    results["publishRelease (weights already published)"] = statistics.median(same_weights)
    results["authorizeOperator"] = client.authorize_operator(
        "smollm", "smollm2-135m-instruct", None, Ed25519Key.generate().did, client.now() + 86400
    ).gas_used
    rel0 = ReleaseName("smollm", "smollm2-135m-instruct", "1.0.0")
    results["endorse"] = client.endorse(rel0, "filing.submitted", os.urandom(32)).gas_used
    results["revokeRelease"] = client.revoke(rel0, "bench").gas_used

    schema_registry = _deploy(w3, acct, "SchemaRegistry")
    eas = _deploy(w3, acct, "EAS", schema_registry.address)
    zero = "0x0000000000000000000000000000000000000000"
    short_schema, long_schema = (
        "bytes32 digest",
        "string namespace,string model,string version,bytes32 manifestDigest,bytes32 weightsDigest",
    )
    uids = {}
    for schema in (short_schema, long_schema):
        receipt = _send(w3, acct, schema_registry.functions.register(schema, zero, True))
        uids[schema] = schema_registry.events.Registered().process_receipt(receipt)[0]["args"]["uid"]
    results["EAS attest (32-byte data)"] = statistics.median(
        [_attest_gas(w3, acct, eas, uids[short_schema], os.urandom(32)) for _ in range(5)]
    )
    release_data = encode(
        ["string", "string", "string", "bytes32", "bytes32"],
        ["smollm", "smollm2-135m-instruct", "1.0.0", os.urandom(32), os.urandom(32)],
    )
    results["EAS attest (names as strings + both digests)"] = statistics.median(
        [_attest_gas(w3, acct, eas, uids[long_schema], release_data) for _ in range(5)]
    )
    base = results["EAS attest (32-byte data)"]
    results["ratio publish/attest(32 bytes)"] = results["publishRelease (new weights)"] / base
    results["ratio publish (same weights)/attest(32 bytes)"] = (
        results["publishRelease (weights already published)"] / base
    )
    results["ratio publish/attest(release data)"] = (
        results["publishRelease (new weights)"] / results["EAS attest (names as strings + both digests)"]
    )
    results["registryVersion"] = client.version()
    return results


def main() -> None:
    with throwaway_anvil() as url:
        results = measure(url)
    if "--json" in sys.argv:
        print(json.dumps(results, indent=2))
        return
    print("| transaction | gas |")
    print("| --- | --- |")
    for key, value in results.items():
        shown = f"{value:.3f}x" if key.startswith("ratio") else str(value)
        print(f"| {key} | {shown} |")
    target = results["ratio publish/attest(32 bytes)"] <= 0.5
    print(f"\ntarget publish <= 0.5x EAS attest (32-byte data): {'met' if target else 'MISSED'}")


if __name__ == "__main__":
    main()
