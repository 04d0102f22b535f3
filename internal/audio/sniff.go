package audio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sync/atomic"
)

// sniffSize is how much of the input Open looks at first; headSize is how
// much it buffers at most for sniffing.
const (
	sniffSize = 512
	headSize  = 64 << 10
)

// sniffed is the result of looking at the first bytes of an input.
type sniffed struct {
	native        Format // pure-Go decoder, or "" for none
	name          string // human-readable container/codec
	ffmpegDemuxer string // ffmpeg -f value when native == ""
	needMore      bool   // the decisive bytes may lie beyond the head given
}

// sniff identifies the container (and where it is visible, the codec) from
// the first bytes. It never fails: unknown data has native and
// ffmpegDemuxer empty.
func sniff(h []byte) sniffed {
	switch {
	case len(h) >= 12 && (string(h[:4]) == "RIFF" || string(h[:4]) == "RF64") && string(h[8:12]) == "WAVE":
		tag, ok := wavFormatTag(h)
		if !ok || wavTagSupported(tag) {
			return sniffed{native: FormatWAV, name: "WAV", needMore: !ok}
		}
		return sniffed{name: fmt.Sprintf("WAV (codec 0x%04x)", tag), ffmpegDemuxer: "wav"}
	case len(h) >= 10 && string(h[:3]) == "ID3":
		// Look at the first frame after the tag when it is in the head.
		size := int(h[6]&0x7F)<<21 | int(h[7]&0x7F)<<14 | int(h[8]&0x7F)<<7 | int(h[9]&0x7F)
		if end := 10 + size; end+4 <= len(h) && h[end] == 0xFF && h[end+1]&0xE0 == 0xE0 {
			return sniff(h[end:])
		}
		return sniffed{native: FormatMP3, name: "MP3"}
	case len(h) >= 4 && h[0] == 0xFF && h[1]&0xE0 == 0xE0:
		layer := (h[1] >> 1) & 3
		version := (h[1] >> 3) & 3
		bitrate := h[2] >> 4
		rate := (h[2] >> 2) & 3
		switch {
		case layer == 1 && version == 0 && bitrate != 15 && rate != 3:
			// go-mp3 does not implement MPEG-2.5 (8-12 kHz MP3).
			return sniffed{name: "MP3 (MPEG-2.5)", ffmpegDemuxer: "mp3"}
		case layer == 1 && version != 1 && bitrate != 15 && bitrate != 0 && rate != 3:
			return sniffed{native: FormatMP3, name: "MP3"}
		case layer == 0 && h[1]&0xF6 == 0xF0:
			return sniffed{name: "AAC", ffmpegDemuxer: "aac"}
		case (layer == 2 || layer == 3) && version != 1 && bitrate != 15 && rate != 3:
			return sniffed{name: "MPEG audio layer I/II", ffmpegDemuxer: "mp3"}
		}
	case len(h) >= 4 && bytes.Equal(h[:4], []byte{0x1A, 0x45, 0xDF, 0xA3}):
		name := "WebM"
		if bytes.Contains(h[:min(len(h), 64)], []byte("matroska")) {
			name = "WebM (Matroska)"
		}
		if bytes.Contains(h, []byte("A_OPUS")) {
			return sniffed{native: FormatWebM, name: name + "/Opus"}
		}
		if i := bytes.Index(h, []byte("A_")); i >= 0 && bytes.Contains(h, []byte{0x86}) {
			codec := h[i:min(len(h), i+12)]
			if j := bytes.IndexFunc(codec, func(r rune) bool { return r < '!' || r > '~' }); j >= 0 {
				codec = codec[:j]
			}
			return sniffed{name: fmt.Sprintf("%s/%s", name, codec), ffmpegDemuxer: "matroska"}
		}
		// Tracks not in the head: let the native reader report what it finds.
		return sniffed{native: FormatWebM, name: name, needMore: true}
	case len(h) >= 4 && string(h[:4]) == "OggS":
		first := h[:min(len(h), 512)]
		switch {
		case bytes.Contains(first, []byte("OpusHead")):
			return sniffed{native: FormatOgg, name: "Ogg/Opus"}
		case bytes.Contains(first, []byte("\x01vorbis")):
			return sniffed{name: "Ogg/Vorbis", ffmpegDemuxer: "ogg"}
		case bytes.Contains(first, []byte("\x7fFLAC")):
			return sniffed{name: "Ogg/FLAC", ffmpegDemuxer: "ogg"}
		case bytes.Contains(first, []byte("Speex   ")):
			return sniffed{name: "Ogg/Speex", ffmpegDemuxer: "ogg"}
		}
		return sniffed{name: "Ogg (unknown codec)", ffmpegDemuxer: "ogg"}
	case len(h) >= 4 && string(h[:4]) == "fLaC":
		return sniffed{name: "FLAC", ffmpegDemuxer: "flac"}
	case len(h) >= 12 && string(h[4:8]) == "ftyp":
		return sniffed{name: fmt.Sprintf("MP4/M4A (brand %q)", h[8:12]), ffmpegDemuxer: "mov"}
	case len(h) >= 5 && string(h[:5]) == "#!AMR":
		return sniffed{name: "AMR", ffmpegDemuxer: "amr"}
	case len(h) >= 4 && string(h[:4]) == "caff":
		return sniffed{name: "CAF", ffmpegDemuxer: "caf"}
	case len(h) >= 12 && string(h[:4]) == "FORM" && (string(h[8:12]) == "AIFF" || string(h[8:12]) == "AIFC"):
		return sniffed{name: "AIFF", ffmpegDemuxer: "aiff"}
	}
	return sniffed{name: "unknown data"}
}

// wavFormatTag finds the fmt chunk in the head of a RIFF/WAVE file and
// returns its format tag (the sub-format for WAVE_FORMAT_EXTENSIBLE).
func wavFormatTag(h []byte) (uint16, bool) {
	off := 12
	for off+8 <= len(h) {
		id := string(h[off : off+4])
		size := int64(binary.LittleEndian.Uint32(h[off+4 : off+8]))
		body := off + 8
		if id == "fmt " {
			if body+16 > len(h) {
				return 0, false
			}
			tag := binary.LittleEndian.Uint16(h[body:])
			if tag == wavExtensible && size >= 40 && body+26 <= len(h) {
				tag = binary.LittleEndian.Uint16(h[body+24:])
			}
			return tag, true
		}
		next := int64(body) + size + size&1
		if next > int64(len(h)) {
			return 0, false
		}
		off = int(next)
	}
	return 0, false
}

// limitReader counts bytes and fails once more than max have been read.
// Its state is atomic because the WebM reader and ffmpeg's stdin copier read
// from other goroutines than the one calling Stream.Read.
type limitReader struct {
	r    io.Reader
	max  int64 // < 0: unlimited
	n    atomic.Int64
	over atomic.Bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.over.Load() {
		return 0, l.limitErr()
	}
	if l.max >= 0 {
		// Allow one byte past the limit to tell "exactly max" from "more".
		if rem := l.max + 1 - l.n.Load(); int64(len(p)) > rem {
			p = p[:rem]
		}
	}
	n, err := l.r.Read(p)
	if total := l.n.Add(int64(n)); l.max >= 0 && total > l.max {
		l.over.Store(true)
		return 0, l.limitErr()
	}
	return n, err
}

func (l *limitReader) exceeded() bool { return l.over.Load() }

func (l *limitReader) limitErr() error {
	return fmt.Errorf("%w: more than %d bytes (limit %.1f MB)", ErrTooLarge, l.max, float64(l.max)/(1<<20))
}
