"""The record channel: the client's microphone, raw or Opus, to the back end.

The back end's ``start()`` sends START (S16 stereo at its rate) to the capturing client,
the newest record connection; the client answers MODE, START_MARK, then DATA frames.
Every frame is checked before it reaches the back end: raw frames must be whole stereo
samples, Opus packets must decode, and the mode must be one this server announced. A
client that breaks these rules loses its record channel, with the reason in the log;
its other channels and every other client go on.
"""

from __future__ import annotations

import logging

from ..audio import CHANNELS, FRAME_BYTES, OPUS_RATE, SAMPLE_BYTES
from ..audio.opus import OpusDecoder, OpusError
from ..interfaces.events import AudioMute, AudioStart, AudioStop, AudioVolume
from ..interfaces.record import RecordInterface
from ..protocol.constants import AudioDataMode, AudioFormat, ChannelType, RecordCap
from ..protocol.errors import RemoteProtocolError
from ..protocol.messages.codec import ClientMessage
from ..protocol.messages.record import (
    MsgcRecordData,
    MsgcRecordMode,
    MsgcRecordStartMark,
    MsgRecordMute,
    MsgRecordStart,
    MsgRecordStop,
    MsgRecordVolume,
)
from .audio import AudioChannel, AudioChannelClient
from .base import ChannelClient, Transport
from .context import ChannelContext, ClientLink
from .session import Session

log = logging.getLogger(__name__)

MAX_RAW_FRAME = 8 * FRAME_BYTES  # clients send one 480-sample frame; allow some slack


class RecordChannel(AudioChannel):
    type = ChannelType.RECORD

    device: RecordInterface

    def __init__(self, context: ChannelContext, device: RecordInterface) -> None:
        super().__init__(context, 0)
        self.device = device

    def caps(self) -> frozenset[int]:
        caps = {RecordCap.VOLUME}
        if self.opus_allowed:
            caps.add(RecordCap.OPUS)
        return frozenset(caps)

    @property
    def opus_allowed(self) -> bool:
        return self.device.rate == OPUS_RATE

    @property
    def capturing_client(self) -> RecordChannelClient | None:
        """The newest connection captures; older ones are stopped."""
        clients = self.audio_clients()
        return clients[-1] if clients else None

    def audio_clients(self) -> list[RecordChannelClient]:
        return [client for client in self.clients if isinstance(client, RecordChannelClient)]

    def create_client(
        self, session: Session, transport: Transport, link: ClientLink
    ) -> RecordChannelClient:
        return RecordChannelClient(self, session, transport, link)

    def distribute(self) -> None:
        """Pass the back end's events, in order, to the clients."""
        for event in self.device.take_events():
            match event:
                case AudioStart():
                    if self.capturing_client is not None:
                        self.capturing_client.start_capture()
                case AudioStop():
                    for client in self.audio_clients():
                        client.stop_capture()
                case AudioVolume(levels=levels):
                    self.pass_volume(levels)
                case AudioMute(mute=mute):
                    self.pass_mute(mute)

    def client_gone(self, client: ChannelClient) -> None:
        was_capturing = client is self.capturing_client
        super().client_gone(client)
        if was_capturing and self.device.active and self.capturing_client is not None:
            self.capturing_client.start_capture()


class RecordChannelClient(AudioChannelClient):
    max_message_size = 4 + MAX_RAW_FRAME  # the time, then the frame
    volume_cap = RecordCap.VOLUME

    channel: RecordChannel

    def __init__(
        self, channel: RecordChannel, session: Session, transport: Transport, link: ClientLink
    ) -> None:
        super().__init__(channel, session, transport, link)
        self.mode = AudioDataMode.RAW  # until the client says otherwise
        self._decoder: OpusDecoder | None = None  # while the mode is Opus
        self._opus: OpusDecoder | None = None  # made once: a client may switch modes at will
        self.capturing = False  # we asked for samples
        self.sending = False  # the client has started sending them

    def volume_message(self, levels: tuple[int, ...]) -> MsgRecordVolume:
        return MsgRecordVolume(levels)

    def mute_message(self, mute: bool) -> MsgRecordMute:
        return MsgRecordMute(int(mute))

    def start(self) -> None:
        super().start()
        self.send_levels()
        if self.channel.device.active:
            for other in self.channel.audio_clients():
                if other is not self:
                    other.stop_capture()
            self.start_capture()

    def on_closed(self) -> None:
        self._end_sending()

    def start_capture(self) -> None:
        if self.capturing:
            return
        self.capturing = True
        self.send(MsgRecordStart(CHANNELS, AudioFormat.S16, self.channel.device.rate))

    def stop_capture(self) -> None:
        if not self.capturing:
            return
        self.capturing = False
        self.send(MsgRecordStop())
        self._end_sending()

    def _end_sending(self) -> None:
        if self.sending:
            self.sending = False
            self.context.call_backend(self.channel.device.client_stop)

    def handle_message(self, message: ClientMessage) -> None:
        match message:
            case MsgcRecordMode(mode=mode):
                self._set_mode(mode)
            case MsgcRecordStartMark(time=time):
                if self.capturing and not self.sending:
                    self.sending = True
                    self.context.call_backend(self.channel.device.client_start, time)
            case MsgcRecordData(time=time, data=data):
                self._frame(time, data)
            case _:
                super().handle_message(message)

    def _set_mode(self, mode: int) -> None:
        if mode == AudioDataMode.RAW:
            self._decoder = None
        elif mode == AudioDataMode.OPUS and self.channel.opus_allowed:
            # A new MODE means a new encoder at the client; Opus decoders need no reset
            # for that (the first packet says all), so one decoder serves every switch.
            if self._opus is None:
                self._opus = OpusDecoder()
            self._decoder = self._opus
        else:
            raise RemoteProtocolError(
                f"record: unsupported data mode {mode} (this server takes "
                f"{'raw or Opus' if self.channel.opus_allowed else 'raw'})"
            )
        self.mode = AudioDataMode(mode)

    def _frame(self, time: int, data: bytes) -> None:
        if self._decoder is None:
            if not data or len(data) % SAMPLE_BYTES:
                raise RemoteProtocolError(
                    f"record: a raw frame of {len(data)} bytes is not whole stereo samples"
                )
            pcm = data
        else:
            try:
                pcm = self._decoder.decode(data)
            except OpusError as exc:
                raise RemoteProtocolError(f"record: {exc}") from exc
        if not self.capturing:
            self.quiet_log.debug("%r: dropping a frame that arrived after STOP", self)
            return
        self.context.call_backend(self.channel.device.client_samples, pcm, time)
