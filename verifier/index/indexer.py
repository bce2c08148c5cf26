"""Follows the registry's events into the index: batched, confirmed, reorg-safe, resumable.

One :meth:`Indexer.sync_once` step:

1. checks that the checkpoint block still has the hash it had (else: **reorg** - walk back through
   the block hashes seen, delete the events of orphaned blocks, rebuild the state tables from the
   remaining events, and move the checkpoint back to the last common block);
2. asks for the registry's logs from the checkpoint to ``head - confirmations``, at most
   ``batch_blocks`` blocks per ``eth_getLogs``, and near the head checks that each log's block
   hash is the chain's (the logs and the blocks may come from different nodes);
3. in **one database transaction** per batch: inserts the events (unique on block and log index,
   so writes are idempotent), applies them to the state tables, records block hashes and moves
   the checkpoint. A process killed at any point leaves the index at a batch boundary, and a
   restart resumes from there: no event is lost or applied twice.

Only the holder of the indexer lease writes (:mod:`verifier.index.lease`): every replica of the
verifier may run an :class:`Indexer` on a shared database, one of them indexes, and every write
transaction is fenced by the lease's token, so a replica that lost the lease writes nothing.

The state tables are a pure function of the event rows (:mod:`verifier.index.state`). Names in the
namespace table feed a :class:`registry.confusables.ConfusableIndex`, so a newly claimed
namespace that could pass for an existing one is flagged in the monitor feed.
"""

from __future__ import annotations

import gc
import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from web3 import Web3
from web3.exceptions import BlockNotFound

from registry.chain.artifacts import load_artifact
from registry.chain.events import EventSpec, event_specs
from registry.errors import ChainError
from verifier.index.lease import Lease, LeaseLost
from verifier.index.schema import (
    STATE_TABLES,
    Block,
    Checkpoint,
    EventLink,
    EventRow,
    NamespaceRow,
    SkippedLog,
)
from verifier.index.state import BatchState, RowWriter, apply_event, insert_rows

log = logging.getLogger("modelseal.indexer")

EVENTS: Table = EventRow.__table__  # type: ignore[assignment]
LINKS: Table = EventLink.__table__  # type: ignore[assignment]
BLOCKS: Table = Block.__table__  # type: ignore[assignment]
REORG_WINDOW = 128
"""Blocks below the head within which each log's block hash is checked against the chain's
(:meth:`Indexer._check_log_blocks`); deeper blocks are settled on every chain this serves
(Ethereum finalises in about 64 blocks)."""
RPC_BATCH = 50
"""Requests per JSON-RPC batch (public RPCs cap batches; 50 passes the common caps)."""


def _plain(value: Any) -> str:
    return str(value).removeprefix("0x")


@dataclass(frozen=True, slots=True)
class IndexStatus:
    chain_id: int
    registry: str
    head: int
    indexed: int
    target: int
    confirmations: int

    unreachable_for: float | None = None
    """seconds since the chain last answered, when it does not answer now (the head is then the
    last one seen, and the index is served as it is: stale)"""

    @property
    def behind(self) -> int:
        return max(0, self.head - self.indexed)

    @property
    def stale(self) -> bool:
        return self.unreachable_for is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "registry": self.registry,
            "head": self.head,
            "indexedBlock": self.indexed,
            "behind": self.behind,
            "confirmations": self.confirmations,
            "stale": self.stale,
            "unreachableSeconds": None if self.unreachable_for is None else round(self.unreachable_for, 1),
        }


class Indexer:
    def __init__(
        self,
        engine: Engine,
        w3: Web3,
        address: str,
        *,
        deploy_block: int = 0,
        confirmations: int = 0,
        batch_blocks: int = 2000,
        abi: list[dict[str, Any]] | None = None,
        lease: Lease | None = None,
    ) -> None:
        self.engine = engine
        self.lease = lease or Lease(engine)
        """the right to write this index (:mod:`verifier.index.lease`): only its holder indexes"""
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.deploy_block = deploy_block
        self.confirmations = confirmations
        self.batch_blocks = batch_blocks
        self.abi = abi if abi is not None else load_artifact().abi
        self.contract = w3.eth.contract(address=self.address, abi=self.abi)
        self._events = event_specs(self.abi)
        self._bytes_args = {  # by topic0: the arguments decoded as bytes, stored as 0x-hex
            topic: [
                n for n, t in (*spec.indexed, *zip(spec.data_names, spec.data_types, strict=True)) if _BYTES.match(t)
            ]
            for topic, spec in self._events.items()
        }
        self._time_keys = {  # by topic0: the argument that is the event's time, if any
            topic: _time_key((*spec.data_names, *(n for n, _ in spec.indexed))) for topic, spec in self._events.items()
        }
        self._chain_id = int(w3.eth.chain_id)
        self._in_process = type(w3.provider).__name__ == "EthereumTesterProvider"
        self._lock = threading.Lock()
        self._confusables: Any = None
        self._verified_head: int | None = None  # the head at which recent blocks were last checked
        self._head: tuple[int, float] | None = None
        self._indexed: tuple[int, float] | None = None
        self._time: tuple[int, float] | None = None
        self._unreachable_since: float | None = None

    # --- checkpoint ---

    def _checkpoint(self, s: Session) -> Checkpoint | None:
        return s.get(Checkpoint, 1)

    def _check_same_registry(self) -> None:
        """Refuse to extend an index built for another chain or registry (its rows would mix)."""
        with Session(self.engine) as s:
            cp = self._checkpoint(s)
            if cp is None or (cp.chain_id, cp.registry_address.lower()) == (self._chain_id, self.address.lower()):
                return
            theirs = f"chain {cp.chain_id} registry {cp.registry_address}"
        raise ChainError(
            f"this index database holds {theirs}, not chain {self._chain_id} registry {self.address}",
            hint="point MODELSEAL_DATABASE_URL at a database of its own for this registry",
        )

    def indexed_block(self, max_age: float = 0.0) -> int:
        """The last block indexed (from the checkpoint; cached for ``max_age`` seconds)."""
        now = time.monotonic()
        if self._indexed is not None and now - self._indexed[1] <= max_age:
            return self._indexed[0]
        with Session(self.engine) as s:
            cp = self._checkpoint(s)
            block = cp.block_number if cp else self.deploy_block - 1
        self._indexed = (block, now)
        return block

    def chain_time(self, max_age: float = 0.0) -> int:
        """The chain time of the index's view: the timestamp of the last indexed block (cached for
        ``max_age`` seconds). Expiries recorded on chain are judged against it, never against this
        machine's clock. An index written before this was recorded reads it from the chain once."""
        now = time.monotonic()
        if self._time is not None and now - self._time[1] <= max_age:
            return self._time[0]
        with Session(self.engine) as s:
            cp = self._checkpoint(s)
            block, stamp = (cp.block_number, cp.block_time) if cp else (None, None)
        if stamp is None:
            try:
                stamp = _chain_uint(
                    self.w3.eth.get_block(block if block is not None else "latest")["timestamp"], "a block time"
                )
            except ChainError:
                raise
            except Exception as exc:
                raise ChainError(f"the chain does not answer ({type(exc).__name__})") from None
        self._time = (stamp, now)
        return stamp

    def head(self, max_age: float = 1.0) -> int:
        """The chain head, read at most once per ``max_age`` seconds (requests share it). Raises
        :class:`ChainError` when the chain does not answer (:meth:`status` then serves the last head)."""
        now = time.monotonic()
        if self._head is None or now - self._head[1] > max_age:
            try:
                number = _chain_uint(self.w3.eth.block_number, "the head block number")
            except ChainError:
                raise
            except Exception as exc:
                self._unreachable_since = self._unreachable_since or now
                raise ChainError(f"the chain does not answer ({type(exc).__name__})") from None
            self._head, self._unreachable_since = (number, now), None
        return self._head[0]

    def status(self, max_age: float = 1.0) -> IndexStatus:
        """Head and index position. While the chain does not answer, the last head seen (or the
        indexed block) with ``unreachable_for`` set: the index keeps being served, marked stale."""
        indexed = self.indexed_block(max_age)
        try:
            head, unreachable = self.head(max_age), None
        except ChainError:
            head = self._head[0] if self._head is not None else indexed
            since = self._unreachable_since or time.monotonic()
            unreachable = time.monotonic() - since
        return IndexStatus(
            self._chain_id,
            self.address,
            head,
            indexed,
            max(head - self.confirmations, 0),
            self.confirmations,
            unreachable,
        )

    # --- sync ---

    @property
    def leading(self) -> bool:
        """Whether this process holds the indexer lease (it indexes; the others follow)."""
        return self.lease.held

    def sync_once(self, max_batches: int | None = None) -> int:
        """Index up to the confirmed head (or ``max_batches`` batches) if this process holds or
        can take the indexer lease; else do nothing (another replica indexes, and reads here
        follow the database). Returns events added."""
        with self._lock:
            before = self.lease.token
            if not self.lease.acquire():
                self._forget()
                return 0
            if self.lease.token != before:
                self._forget()  # the lease changed hands: what this process cached may be old
            try:
                return self._sync(max_batches)
            except LeaseLost as exc:  # another replica took over mid-step: it goes on from its checkpoint
                log.warning("%s", exc.message)
                self._forget()
                return 0
            except BaseException:  # the batch was rolled back: so is what this process learnt from it
                self._forget()
                raise

    def _forget(self) -> None:
        self._verified_head = None
        self._confusables = None
        self._indexed = None
        self._time = None

    def _sync(self, max_batches: int | None) -> int:
        self._check_same_registry()
        self._check_reorg()
        head = self.head(max_age=0)
        target = head - self.confirmations
        added = 0
        batches = 0
        start = self.indexed_block() + 1
        while start <= target and (max_batches is None or batches < max_batches):
            end = min(start + self.batch_blocks - 1, target)
            added += self._index_range(start, end)
            start = end + 1
            batches += 1
        return added

    def _logs(self, start: int, end: int) -> list[dict[str, Any]]:
        """The registry's logs in ``start..end``, read with one plain ``eth_getLogs`` (web3's
        result formatting costs more than the whole rest of indexing a log) and checked: the RPC
        is untrusted, so a malformed entry or a log of another address is a :class:`ChainError`."""
        request = {"address": self.address, "fromBlock": hex(start), "toBlock": hex(end)}
        try:
            if self._in_process:  # py-evm in this process (tests): it takes web3's formatted requests only
                result: Any = [_plain_log(lg) for lg in self.w3.eth.get_logs(request)]  # type: ignore[arg-type]
            else:
                answer = self.w3.provider.make_request("eth_getLogs", [request])  # type: ignore[arg-type]
                if "error" in answer or not isinstance(answer.get("result"), list):
                    raise ChainError(
                        f"the chain refused eth_getLogs for blocks {start}-{end}: {str(answer.get('error'))[:200]}"
                    )
                result = answer["result"]
        except ChainError:
            raise
        except Exception as exc:
            raise ChainError(f"the chain does not answer ({type(exc).__name__})") from None
        logs = []
        for item in result:
            try:
                if str(item["address"]).lower() != self.address.lower():
                    raise ValueError(f"a log of {item['address']}")
                logs.append(
                    {
                        "blockNumber": _chain_uint(int(item["blockNumber"], 16), "a block number"),
                        "logIndex": _chain_uint(int(item["logIndex"], 16), "a log index"),
                        "blockHash": _hash32(item["blockHash"]),
                        "transactionHash": _hash32(item["transactionHash"]),
                        "topics": [bytes.fromhex(t.removeprefix("0x")) for t in item["topics"]],
                        "data": bytes.fromhex(str(item["data"]).removeprefix("0x")),
                    }
                )
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise ChainError(f"the chain answered a malformed log for blocks {start}-{end}: {exc}") from None
            block, index = int(logs[-1]["blockNumber"]), int(logs[-1]["logIndex"])  # type: ignore[call-overload]
            if not start <= block <= end or index >= 2**31:  # outside what was asked, or beyond the column
                raise ChainError(f"the chain answered a log at block {block}, index {index}, for blocks {start}-{end}")
        if len({(lg["blockNumber"], lg["logIndex"]) for lg in logs}) != len(logs):
            raise ChainError(f"the chain answered the same log twice for blocks {start}-{end}")
        return logs

    def _index_range(self, start: int, end: int) -> int:
        with _cyclic_gc_paused():
            return self._index_batch(start, end)

    def _index_batch(self, start: int, end: int) -> int:
        logs = self._logs(start, end)
        end_block = self.w3.eth.get_block(end)
        end_hash, end_time = end_block["hash"].to_0x_hex(), _chain_uint(end_block["timestamp"], "a block time")
        self._check_log_blocks(logs, end, end_hash)
        events, skipped = self._decode_all(logs)
        with Session(self.engine) as s, s.begin(), s.no_autoflush:
            self.lease.fence(s.connection())  # still ours, and nobody takes it until this commits
            cp = self._checkpoint(s)
            if cp is not None and cp.block_number >= start:  # another worker got here first
                return 0
            for raw, failure in skipped:
                s.add(_skipped(raw, failure))
                log.warning("skipped an undecodable log at block %s: %s", raw["blockNumber"], failure)
            state = BatchState(s)
            state.preload([(row.name, args) for row, args in events])
            if any(row.name == "NamespaceClaimed" for row, _ in events):
                self._confusable_index(s)  # read now: nothing is read while the events stream
            seen_blocks: dict[int, str] = {}
            with RowWriter(s.connection(), EVENTS, _EVENT_COLUMNS) as writer:  # written while applied
                state.before_read = writer.pause
                for row, args in events:
                    row.links = self._apply(s, state, row, args)
                    seen_blocks[row.block_number] = row.block_hash
                    writer.add((row.block_number, row.block_hash, row.tx_hash, row.log_index, row.name,
                                row.namespace, row.time, row.args, row.alerts))  # fmt: skip
            state.before_read = lambda: None
            state.write()
            _write_links(s, [row for row, _ in events])
            seen_blocks[end] = end_hash
            # blocks after the checkpoint are this batch's alone (a rollback deletes those after the fork)
            s.execute(delete(Block).where(Block.number >= start, Block.number <= end))
            insert_rows(s.connection(), BLOCKS, list(seen_blocks.items()), ("number", "hash"))
            if cp is None:
                s.add(
                    Checkpoint(
                        id=1,
                        chain_id=self._chain_id,
                        registry_address=self.address,
                        block_number=end,
                        block_hash=end_hash,
                        block_time=end_time,
                    )
                )
            else:
                cp.block_number, cp.block_hash, cp.block_time = end, end_hash, end_time
        self._indexed = (end, time.monotonic())
        self._time = (end_time, time.monotonic())
        return len(events)

    def _check_log_blocks(self, logs: list[dict[str, Any]], end: int, end_hash: str) -> None:
        """The logs and the batch's end block came from separate calls, perhaps from different
        nodes behind one RPC: make sure they describe one chain before anything is written. Every
        log of a block must name the same block hash, and within :data:`REORG_WINDOW` blocks of
        the head (where forks happen) that hash must be the chain's hash of that block, asked
        again. Otherwise the batch is refused (:class:`ChainError`) and read again at the next
        poll: events of an orphaned block are never indexed under a checkpoint of the new chain,
        where the reorg check, which compares the checkpoint's hash, would never find them."""
        hashes: dict[int, bytes] = {}
        for lg in logs:
            number, block_hash = int(lg["blockNumber"]), bytes(lg["blockHash"])
            if hashes.setdefault(number, block_hash) != block_hash:
                raise ChainError(
                    f"the chain answered logs of two different blocks {number}; "
                    "the batch is read again at the next poll"
                )
        if not hashes:
            return
        near = self.head(max_age=1.0) - REORG_WINDOW
        recent = [n for n in sorted(hashes) if n > near]
        chain = self._hashes_at([n for n in recent if n != end])
        chain[end] = end_hash
        for number in recent:
            if chain[number] != "0x" + hashes[number].hex():
                raise ChainError(
                    f"block {number} changed while it was read (a reorg, or an RPC serving nodes on different "
                    "forks); the batch is read again at the next poll"
                )

    def _decode_all(
        self, logs: list[dict[str, Any]]
    ) -> tuple[list[tuple[_NewEvent, dict[str, Any]]], list[tuple[dict[str, Any], Exception]]]:
        """A batch's logs in chain order as events about to be written (each with its args as
        stored: bytes in 0x-hex), and the logs that do not decode, with why."""
        if any(
            (a["blockNumber"], a["logIndex"]) >= (b["blockNumber"], b["logIndex"]) for a, b in itertools.pairwise(logs)
        ):
            logs = sorted(logs, key=lambda lg: (lg["blockNumber"], lg["logIndex"]))
        events: list[tuple[_NewEvent, dict[str, Any]]] = []
        skipped: list[tuple[dict[str, Any], Exception]] = []
        for raw in logs:
            try:
                decoded = self._decode(raw)
            except Exception as exc:  # hostile or foreign data never stops the index: record, go on
                skipped.append((raw, exc))
                continue
            if decoded is None:
                continue
            spec, args = decoded
            time_key = self._time_keys[spec.topic]
            row = _NewEvent(
                block_number=raw["blockNumber"],
                block_hash="0x" + raw["blockHash"].hex(),
                tx_hash="0x" + raw["transactionHash"].hex(),
                log_index=raw["logIndex"],
                name=spec.name,
                namespace=str(args["namespace"]) if args.get("namespace") else None,
                time=int(args[time_key]) if time_key is not None else None,
                args=json.dumps(args),
            )
            events.append((row, args))
        return events, skipped

    def _decode(self, raw: dict[str, Any]) -> tuple[EventSpec, dict[str, Any]] | None:
        """A log's event and arguments as stored (bytes in 0x-hex), or ``None`` for a log of no
        event of the ABI. Raises when the log names an event but does not decode as one."""
        topics = raw["topics"]
        spec = self._events.get(topics[0]) if topics else None
        if spec is None:
            return None
        args = spec.decode(topics, raw["data"])
        for key in self._bytes_args[spec.topic]:
            args[key] = "0x" + args[key].hex()
        return spec, args

    # --- reorgs ---

    def _check_reorg(self) -> None:
        with Session(self.engine) as s:
            cp = self._checkpoint(s)
            if cp is None:
                return
            head = self.head(max_age=0)
            if cp.block_number > head:  # no proof of a reorg: a node behind (or resyncing) looks the same
                raise ChainError(
                    f"the chain's head {head} is below the indexed block {cp.block_number} (a node behind, or a "
                    "shorter chain); the index is kept until the chain passes it"
                )
            below = cp.block_number
            if self._hash_at(cp.block_number) == cp.block_hash:
                wrong = self._recent_blocks_off_chain(s, head, cp.block_number)
                if wrong is None:
                    return
                below = wrong - 1  # a block with events below the checkpoint is not the chain's
                what = f"block {wrong} (with events) is not the chain's"
            else:
                what = f"checkpoint {cp.block_number} orphaned"
            known = s.scalars(select(Block).where(Block.number <= below).order_by(Block.number.desc())).all()
            fork = self.deploy_block - 1
            fork_hash = ""
            for b in known:
                if self._hash_at(b.number) == b.hash:
                    fork, fork_hash = b.number, b.hash
                    break
        log.warning("reorg: %s; rolling back to block %s", what, fork)
        self.rollback_to(fork, fork_hash)

    def _recent_blocks_off_chain(self, s: Session, head: int, checkpoint: int) -> int | None:
        """Once per new head: the lowest block with events within :data:`REORG_WINDOW` of the
        head whose recorded hash is no longer the chain's, or None. The checkpoint's hash alone
        cannot tell when a batch's logs came from a node on another fork and its end block from
        one on this chain (an RPC that balances across nodes, asked twice by chance of the same
        wrong one): the events would stay. Asked in JSON-RPC batches."""
        if self._verified_head == head:
            return None
        with_events = select(EventRow.block_number).where(EventRow.block_number > head - REORG_WINDOW)
        recent = s.scalars(
            select(Block).where(Block.number < checkpoint, Block.number.in_(with_events)).order_by(Block.number)
        ).all()
        chain = self._hashes_at([b.number for b in recent])
        wrong = next((b.number for b in recent if chain[b.number] != b.hash), None)
        if wrong is None:
            self._verified_head = head
        return wrong

    def _hashes_at(self, numbers: list[int]) -> dict[int, str]:
        """The chain's hashes of blocks ``numbers``, asked in JSON-RPC batches of
        :data:`RPC_BATCH` (one call each where the RPC takes no batches)."""
        make_batch = getattr(self.w3.provider, "make_batch_request", None)
        found: dict[int, str] = {}
        for i in range(0, len(numbers), RPC_BATCH):
            chunk = numbers[i : i + RPC_BATCH]
            answers: Any = None
            if make_batch is not None and not self._in_process and len(chunk) > 1:
                try:
                    answers = make_batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk])
                except Exception:
                    answers = None
            if isinstance(answers, list) and len(answers) == len(chunk):
                ordered = sorted(answers, key=lambda a: int(a["id"]) if _int_id(a) else -1)
                for number, answer in zip(chunk, ordered, strict=True):
                    block = answer.get("result") if isinstance(answer, dict) else None
                    if not isinstance(block, dict) or not re.fullmatch(r"0x[0-9a-fA-F]{64}", str(block.get("hash"))):
                        raise ChainError(f"the chain has no block {number} below its head; the index is kept as it is")
                    if _quantity(block.get("number")) != number:
                        raise ChainError(f"the chain answered block {block.get('number')} for block {number}")
                    found[number] = str(block["hash"]).lower()
            else:  # no batches here (or a refused one): one call per block
                found.update((n, self._hash_at(n)) for n in chunk)
        return found

    def _hash_at(self, number: int) -> str:
        """The hash of block ``number`` (at or below the head) on the chain now. Only another hash
        at the same height is taken for a reorg; a chain that does not answer, or lacks a block
        below its own head, is a :class:`ChainError`: an outage must not roll the index back."""
        try:
            return str(self.w3.eth.get_block(number)["hash"].to_0x_hex())
        except BlockNotFound:
            raise ChainError(f"the chain has no block {number} below its head; the index is kept as it is") from None
        except Exception as exc:
            raise ChainError(f"the chain does not answer ({type(exc).__name__}); the index is kept as it is") from None

    def rollback_to(self, block: int, block_hash: str) -> None:
        """Forget everything after ``block`` and rebuild the state tables from the events left."""
        with Session(self.engine) as s, s.begin():
            self.lease.fence(s.connection())
            doomed = select(EventRow.id).where(EventRow.block_number > block)
            s.execute(delete(EventLink).where(EventLink.event_id.in_(doomed)))
            s.execute(delete(EventRow).where(EventRow.block_number > block))
            s.execute(delete(SkippedLog).where(SkippedLog.block_number > block))
            s.execute(delete(Block).where(Block.number > block))
            cp = self._checkpoint(s)
            if block < self.deploy_block:
                if cp is not None:
                    s.delete(cp)
            elif cp is not None:
                cp.block_number, cp.block_hash, cp.block_time = block, block_hash, None
            self._rebuild(s)
        self._indexed = None
        self._time = None
        self._verified_head = None

    def _rebuild(self, s: Session) -> None:
        for table in STATE_TABLES:
            s.execute(delete(table))
        s.execute(delete(EventLink))
        s.expire_all()
        self._confusables = None
        state = BatchState(s, empty=True)
        with s.no_autoflush:
            for row in s.scalars(select(EventRow).order_by(EventRow.block_number, EventRow.log_index)).all():
                row.links = [EventLink(namespace=ns) for ns in self._apply(s, state, row, json.loads(row.args))]
        state.write()

    # --- applying events to state ---

    def _confusable_index(self, s: Session) -> Any:
        if self._confusables is None:
            from registry.confusables import ConfusableIndex

            self._confusables = ConfusableIndex(s.scalars(select(NamespaceRow.name)).all())
        return self._confusables

    def _apply(self, s: Session, state: BatchState, row: Any, a: dict[str, Any]) -> list[str]:
        """Apply one event (an :class:`EventRow`, or a :class:`_NewEvent` about to be written;
        ``a``: its args as stored) to the batch's state; its alerts are set on it. Returns the
        namespaces it concerns."""
        links: set[str] = set()
        if row.name == "NamespaceClaimed":
            index = self._confusable_index(s)
            confusions = index.check_and_add(a["namespace"])
            if confusions:
                alerts = [{"namespace": c.existing, "reason": c.reason, "detail": c.detail} for c in confusions]
                row.alerts = json.dumps({"confusableWith": alerts})
                links |= {c.existing for c in confusions}
        apply_event(state, row, a)
        if row.namespace:
            links.add(row.namespace)
        return sorted(links)


@dataclass(slots=True)
class _NewEvent:
    """An event being indexed: what the state rules read and set, before it is written in bulk."""

    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    name: str
    namespace: str | None
    time: int | None
    args: str
    alerts: str | None = None
    links: list[str] = field(default_factory=list)


_EVENT_COLUMNS = ("block_number", "block_hash", "tx_hash", "log_index", "name", "namespace", "time", "args", "alerts")


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for one batch.

    A batch makes a dozen container objects per event (logs, arguments, rows), all freed by
    reference counting when the batch ends; but their number alone sets off full collections,
    each of which walks every object of the process (some 200,000 before the first event: web3,
    SQLAlchemy, the ENS tables), again and again as the batch grows: a fifth of the catch-up time.
    The pause lasts one batch (about a second for 10,000 events); the collector then runs as
    usual. It is process-wide, so pauses are counted: overlapping ones (two indexers in one
    process) end with the last, and a collector already disabled stays so."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def _write_links(s: Session, events: list[_NewEvent]) -> None:
    """Insert the namespace links of a batch's events (written already: their ids are read back)."""
    if not events:
        return
    first, last = events[0].block_number, events[-1].block_number  # (block, log index) is unique
    ids = {
        (b, i): event_id
        for event_id, b, i in s.execute(
            select(EventRow.id, EventRow.block_number, EventRow.log_index).where(
                EventRow.block_number >= first, EventRow.block_number <= last
            )
        )
    }
    links = [(ids[(e.block_number, e.log_index)], ns) for e in events for ns in e.links]
    insert_rows(s.connection(), LINKS, links, ("event_id", "namespace"))


def _plain_log(log: Any) -> dict[str, Any]:
    """A log as web3 formats it, back in the JSON-RPC shape (hex strings)."""
    return {
        "address": str(log["address"]),
        "blockNumber": hex(int(log["blockNumber"])),
        "logIndex": hex(int(log["logIndex"])),
        "blockHash": "0x" + bytes(log["blockHash"]).hex(),
        "transactionHash": "0x" + bytes(log["transactionHash"]).hex(),
        "topics": ["0x" + bytes(t).hex() for t in log["topics"]],
        "data": "0x" + bytes(log["data"]).hex(),
    }


def _int_id(answer: Any) -> bool:
    """Whether a batch answer carries an integer id (any other is refused by the block checks)."""
    return isinstance(answer, dict) and isinstance(answer.get("id"), int) and not isinstance(answer["id"], bool)


def _quantity(value: Any) -> int | None:
    """A JSON-RPC quantity (``0x``-hex), or None when it is not one."""
    try:
        return int(str(value), 16) if str(value).startswith("0x") else None
    except ValueError:
        return None


def _hash32(value: Any) -> bytes:
    raw = bytes.fromhex(str(value).removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError(f"a hash of {len(raw)} bytes")
    return raw


def _chain_uint(value: Any, what: str) -> int:
    """A block number or time from the RPC, which is untrusted like any input: a non-negative
    integer that fits a signed 64-bit column, or a :class:`ChainError`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise ChainError(f"the chain answered {what} that is not a block number or time: {str(value)[:40]}")
    return int(value)


def _skipped(raw: Any, exc: Exception) -> SkippedLog:
    topics = raw.get("topics") or []
    return SkippedLog(
        block_number=int(raw["blockNumber"]),
        log_index=int(raw["logIndex"]),
        tx_hash="0x" + bytes(raw["transactionHash"]).hex(),
        topic="0x" + bytes(topics[0]).hex() if topics else None,
        reason=f"{type(exc).__name__}: {exc}"[:500],
    )


_BYTES = re.compile(r"bytes\d*$")
_TIME_KEYS = ("publishedAt", "revokedAt", "validFrom", "validUntil", "time")  # expiresAt is not an event time


def _time_key(names: tuple[str, ...]) -> str | None:
    """Which argument of an event is its time (the first of :data:`_TIME_KEYS` it has)."""
    return next((key for key in _TIME_KEYS if key in names), None)


class BackgroundIndexer:
    """Runs :meth:`Indexer.sync_once` every ``poll_seconds`` in a daemon thread."""

    def __init__(self, indexer: Indexer, poll_seconds: float) -> None:
        self.indexer = indexer
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="modelseal-indexer", daemon=True)
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            try:
                self.indexer.lease.release()  # a clean stop: another replica takes over at once
            except Exception as exc:  # the database may be gone already; the lease then expires
                log.warning("could not release the indexer lease: %s", type(exc).__name__)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.indexer.sync_once()
                self.last_error = None
            except Exception as exc:  # keep following the chain; health reports the error
                log.warning("indexer step failed: %s: %s", type(exc).__name__, exc)
                # what /v1/health shows: our own errors' words, never a driver's (SQL, paths)
                told = exc.message if isinstance(exc, ChainError) else f"{type(exc).__name__} (see the verifier's log)"
                self.last_error = f"indexing stopped: {told}"
            self._stop.wait(self.poll_seconds)
