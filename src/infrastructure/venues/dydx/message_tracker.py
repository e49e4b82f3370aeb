"""The dYdX `message_id` rules: gaps per connection, duplicates and reordering per (channel, id).

What the indexer's WebSocket server (dydxprotocol/v4-chain `indexer/services/socks`) does with
`message_id`, and therefore what a client can conclude from it:
- It is ONE counter per connection, not per channel: `connected` is 0, and every frame sent
  after it takes the next value, whatever its channel. With one subscription per connection the
  ids of a (channel, id) stream are consecutive; with several they interleave, so a jump inside a
  stream proves nothing. Gaps are therefore detected on the connection, where the counter is
  consecutive, and a gap makes every stream of the connection suspect.
- A subscription takes its id when the server receives the request, but its `subscribed` reply
  (or its `error`) is sent only after the initial data is fetched; frames of other streams sent
  meanwhile carry higher ids. A skipped id is thus not proof of loss while a subscription is
  unanswered: this tracker holds up to one skipped id per pending subscription, for at most
  `reply_timeout_ns`, and declares a GAP for any skipped id beyond that. The owner of the
  connection must call `subscribe_sent` for every subscribe it sends; without it the first
  interleaved reply looks like a gap.
- Error frames reuse the current counter (they do not take a new id), except the reply to a
  failed subscription, which carries the id the subscription took.
- Within one (channel, id) stream ids strictly increase: a repeated id is a DUPLICATE and a
  lower one is OUT_OF_ORDER; both frames are dropped.
"""

from __future__ import annotations

import enum
from collections import deque

import attrs

from domain.market_data import FeedIssue, FeedIssueKind

#: A subscription unanswered after 30 s no longer excuses a skipped id (v4-web waits 10 to 30 s).
DEFAULT_REPLY_TIMEOUT_NS = 30_000_000_000


class FrameRole(enum.Enum):
    """How a frame takes part in its connection's message_id sequence."""

    CONNECTED = "connected"  # restarts the sequence at its id (0)
    REPLY = "reply"  # a subscribed frame: the id was taken when the subscription was requested
    ERROR = "error"  # reuses the counter, or carries a failed subscription's id
    SEQUENCED = "sequenced"  # channel_data, channel_batch_data, unsubscribed: the next id when sent
    ENDS_STREAM = "ends_stream"  # unsubscribed: sequenced, and the stream is forgotten


@attrs.frozen
class Verdict:
    """What to do with a frame: whether to use it, and the issues it revealed."""

    accept: bool
    issues: tuple[FeedIssue, ...] = ()


_ACCEPT = Verdict(accept=True)


def stream_name(connection_id: str, channel: str | None, stream_id: str | None) -> str:
    """The FeedIssue stream of a (channel, id) on a connection: `connection:channel:id`."""
    return f"{connection_id}:{channel or '-'}:{stream_id or '-'}"


class MessageTracker:
    """message_id bookkeeping for one WebSocket connection; see the module docstring for the rules."""

    def __init__(self, connection_id: str, reply_timeout_ns: int = DEFAULT_REPLY_TIMEOUT_NS) -> None:
        self.connection_id = connection_id
        self._reply_timeout_ns = reply_timeout_ns
        self._next_id: int | None = None
        self._pending: deque[int] = deque()  # when each unanswered subscribe was sent (ns)
        self._skipped = 0  # ids jumped over and not yet filled by a late reply
        self._last_in_stream: dict[tuple[str | None, str | None], int] = {}

    @property
    def pending_subscriptions(self) -> int:
        """Subscriptions sent and not yet answered."""
        return len(self._pending)

    @property
    def unresolved_skips(self) -> int:
        """Ids jumped over that a pending subscription's reply may still fill."""
        return self._skipped

    def subscribe_sent(self, ts_ns: int) -> None:
        """Record that a subscribe request was sent at `ts_ns`: its reply will carry an earlier id."""
        self._pending.append(ts_ns)

    def observe(
        self, role: FrameRole, message_id: int, channel: str | None, stream_id: str | None, ts_ns: int
    ) -> Verdict:
        """Check one received frame against the sequence; returns whether to use it and any issues."""
        if role is FrameRole.CONNECTED:
            self._next_id = message_id + 1
            self._pending.clear()
            self._skipped = 0
            self._last_in_stream.clear()
            return _ACCEPT
        self._expire_pending(ts_ns)
        expected = self._next_id
        key = (channel, stream_id)
        if role is FrameRole.REPLY:
            self._answer(message_id)
            self._last_in_stream[key] = message_id
        elif role is FrameRole.ERROR:
            if self._pending and (self._skipped > 0 or expected is None or message_id >= expected):
                self._answer(message_id)
        else:
            rejected = self._check_stream(key, message_id, channel, stream_id, ts_ns)
            if rejected is not None:
                return rejected
            if self._advance(message_id):
                # Sent in order by the server, so a late one is a transport anomaly; its data is
                # dropped, and its id stays counted as skipped until the gap rule settles it.
                return Verdict(
                    False, (self._issue(FeedIssueKind.OUT_OF_ORDER, None, message_id, expected, ts_ns),)
                )
            if role is FrameRole.ENDS_STREAM:
                self._last_in_stream.pop(key, None)
            else:
                self._last_in_stream[key] = message_id
        gap = self._gap(expected, message_id, ts_ns)
        return _ACCEPT if gap is None else Verdict(True, (gap,))

    def _expire_pending(self, ts_ns: int) -> None:
        while self._pending and ts_ns - self._pending[0] > self._reply_timeout_ns:
            self._pending.popleft()

    def _answer(self, message_id: int) -> None:
        """A subscription's reply arrived: it takes its id, late or not."""
        if self._pending:
            self._pending.popleft()
        if self._next_id is not None and message_id < self._next_id:
            self._skipped = max(0, self._skipped - 1)
        else:
            self._advance(message_id)

    def _advance(self, message_id: int) -> bool:
        """Move the sequence past `message_id`; True when the id comes too late to be used."""
        if self._next_id is None or message_id == self._next_id:
            self._next_id = message_id + 1
            return False
        if message_id > self._next_id:
            self._skipped += message_id - self._next_id
            self._next_id = message_id + 1
            return False
        return True

    def _check_stream(
        self,
        key: tuple[str | None, str | None],
        message_id: int,
        channel: str | None,
        stream_id: str | None,
        ts_ns: int,
    ) -> Verdict | None:
        last = self._last_in_stream.get(key)
        if last is None or message_id > last:
            return None
        kind = FeedIssueKind.DUPLICATE if message_id == last else FeedIssueKind.OUT_OF_ORDER
        issue = FeedIssue(
            kind=kind,
            stream=stream_name(self.connection_id, channel, stream_id),
            detail=f"message_id {message_id} after {last} in the same stream: dropped",
            ts_ns=ts_ns,
            expected=last + 1,
            received=message_id,
        )
        return Verdict(False, (issue,))

    def _gap(self, expected: int | None, received: int, ts_ns: int) -> FeedIssue | None:
        lost = self._skipped - len(self._pending)
        if lost <= 0:
            return None
        self._skipped = len(self._pending)
        return self._issue(FeedIssueKind.GAP, f"{lost} message(s) lost", received, expected, ts_ns)

    def _issue(
        self, kind: FeedIssueKind, detail: str | None, received: int, expected: int | None, ts_ns: int
    ) -> FeedIssue:
        text = detail or f"message_id {received} arrived after {expected}: dropped"
        return FeedIssue(
            kind=kind,
            stream=self.connection_id,
            detail=f"{text}; every stream of the connection is suspect",
            ts_ns=ts_ns,
            expected=expected,
            received=received,
        )
