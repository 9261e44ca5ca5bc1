"""The playback channel: the back end's sound to every client, raw or Opus, on the mm clock.

Frames are stamped with the multimedia clock the display's video streams use: a frame's
time is when it should play, counted from when playback started (or from now, after the
back end fell silent; or, when the back end says how much silence passed since the last
run, that long after the last run's end), so a back end pushing at the pace of a sound
card gets stamps that follow the multimedia clock. Clients set their media clock from
these stamps minus their audio buffering; the LATENCY message asks for at least as much
buffering as the display's stream stamps allow for, which keeps video frames on time
while audio plays.

Each client gets Opus when it can decode it, the server's ``playback_compression`` is on
and the rate is 48000 Hz; raw PCM otherwise. A client whose socket is full loses frames
(audio cannot wait) rather than queueing them.
"""

from __future__ import annotations

import logging

from ..audio import CHANNELS, FRAME_SAMPLES, OPUS_RATE
from ..audio.frames import FrameSplitter
from ..audio.opus import OpusEncoder
from ..core.clock import MM_TIME_MASK
from ..interfaces.events import AudioData, AudioMute, AudioStart, AudioStop, AudioVolume
from ..interfaces.playback import PlaybackInterface
from ..protocol.constants import AudioDataMode, AudioFormat, ChannelType, PlaybackCap
from ..protocol.messages.playback import (
    MsgPlaybackData,
    MsgPlaybackLatency,
    MsgPlaybackMode,
    MsgPlaybackMute,
    MsgPlaybackStart,
    MsgPlaybackStop,
    MsgPlaybackVolume,
)
from .audio import AudioChannel, AudioChannelClient
from .base import Transport
from .context import ChannelContext, ClientLink
from .main import MM_TIME_DELTA_MS
from .session import Session

log = logging.getLogger(__name__)

RESYNC_MS = 100  # frames this late on the clock mean the back end paused: restart from now


class PlaybackChannel(AudioChannel):
    type = ChannelType.PLAYBACK

    device: PlaybackInterface

    def __init__(self, context: ChannelContext, device: PlaybackInterface) -> None:
        super().__init__(context, 0)
        self.device = device
        self.splitter = FrameSplitter()
        self._origin: int | None = None  # mm time of the first frame since (re)synchronising
        self._samples = 0  # samples stamped since the origin
        self._run_end: int | None = None  # mm time just after the last frame stamped

    def caps(self) -> frozenset[int]:
        caps = {PlaybackCap.VOLUME}
        if self.opus_allowed:
            caps.add(PlaybackCap.OPUS)
        return frozenset(caps)

    @property
    def opus_allowed(self) -> bool:
        return self.context.config.playback_compression and self.device.rate == OPUS_RATE

    def audio_clients(self) -> list[PlaybackChannelClient]:
        return [client for client in self.clients if isinstance(client, PlaybackChannelClient)]

    def create_client(
        self, session: Session, transport: Transport, link: ClientLink
    ) -> PlaybackChannelClient:
        return PlaybackChannelClient(self, session, transport, link)

    def distribute(self) -> None:
        """Pass the back end's events, in order, to every client."""
        for event in self.device.take_events():
            match event:
                case AudioData(pcm=pcm):
                    for frame in self.splitter.feed(pcm):
                        self._send_frame(frame)
                case AudioStart(silence=silence):
                    self.splitter.clear()
                    self._origin, self._samples = self._resume_at(silence), 0
                    time = (
                        self._origin if self._origin is not None else self.context.clock.mm_time()
                    )
                    for client in self.audio_clients():
                        client.start_playback(time)
                case AudioStop():
                    tail = self.splitter.flush()
                    if tail is not None:
                        self._send_frame(tail)
                    for client in self.audio_clients():
                        client.stop_playback()
                case AudioVolume(levels=levels):
                    self.pass_volume(levels)
                case AudioMute(mute=mute):
                    self.pass_mute(mute)

    def _send_frame(self, pcm: bytes) -> None:
        stamp = self._stamp()
        for client in self.audio_clients():
            client.send_frame(pcm, stamp)

    def _resume_at(self, silence: int | None) -> int | None:
        """Where a new run starts on the clock: the given silence after the last run, as
        long as that is within RESYNC_MS of now (else None: from now)."""
        if silence is None or self._run_end is None:
            return None
        at = (self._run_end + silence * 1000 // self.device.rate) & MM_TIME_MASK
        off = (self.context.clock.mm_time() - at) & MM_TIME_MASK
        return at if min(off, MM_TIME_MASK + 1 - off) <= RESYNC_MS else None

    def _stamp(self) -> int:
        """When this frame plays: the start of the run plus the samples before it."""
        now = self.context.clock.mm_time()
        if self._origin is not None:
            played_ms = self._samples * 1000 // self.device.rate
            late = (now - self._origin - played_ms) & MM_TIME_MASK
            if RESYNC_MS < late < 1 << 31:
                self._origin = None
        if self._origin is None:
            self._origin, self._samples = now, 0
        stamp = (self._origin + self._samples * 1000 // self.device.rate) & MM_TIME_MASK
        self._samples += FRAME_SAMPLES
        self._run_end = (self._origin + self._samples * 1000 // self.device.rate) & MM_TIME_MASK
        return stamp


class PlaybackChannelClient(AudioChannelClient):
    max_message_size = 4 * 1024
    volume_cap = PlaybackCap.VOLUME

    channel: PlaybackChannel

    def __init__(
        self, channel: PlaybackChannel, session: Session, transport: Transport, link: ClientLink
    ) -> None:
        super().__init__(channel, session, transport, link)
        opus = self.channel.opus_allowed and PlaybackCap.OPUS in self.client_caps
        self.mode = AudioDataMode.OPUS if opus else AudioDataMode.RAW
        self._encoder: OpusEncoder | None = None
        self.playing = False
        self.frames_dropped = 0

    def volume_message(self, levels: tuple[int, ...]) -> MsgPlaybackVolume:
        return MsgPlaybackVolume(levels)

    def mute_message(self, mute: bool) -> MsgPlaybackMute:
        return MsgPlaybackMute(int(mute))

    def start(self) -> None:
        super().start()
        device = self.channel.device
        time = self.clock.mm_time()
        self.send(MsgPlaybackMode(time, self.mode))
        self.send_levels()
        if device.active:
            self.start_playback(time)
        log.info("%r: playback in %s mode", self, self.mode.name)

    def start_playback(self, time: int) -> None:
        if self.playing:
            return
        self.playing = True
        if self.mode == AudioDataMode.OPUS:
            self._encoder = OpusEncoder()  # a fresh stream: the client made a fresh decoder
        self.send(MsgPlaybackStart(CHANNELS, AudioFormat.S16, self.channel.device.rate, time))
        if PlaybackCap.LATENCY in self.client_caps:
            # After START: spice-gtk resets the latency to its default on every START.
            self.send(MsgPlaybackLatency(MM_TIME_DELTA_MS))

    def stop_playback(self) -> None:
        if self.playing:
            self.playing = False
            self.send(MsgPlaybackStop())

    def send_frame(self, pcm: bytes, stamp: int) -> None:
        if not self.playing:
            self.start_playback(stamp)
        if not self.can_send_more():
            self.frames_dropped += 1
            return
        data = pcm if self._encoder is None else self._encoder.encode(pcm)
        self.send(MsgPlaybackData(stamp, data))

    def on_closed(self) -> None:
        if self.frames_dropped:
            log.info("%r: %d audio frames dropped on a full connection", self, self.frames_dropped)
