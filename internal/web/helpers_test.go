package web

import (
	"bytes"
	"io"
	"mime/multipart"
	"strconv"

	"dictum/internal/audio"
	"dictum/internal/config"
)

type configT = config.Config

func itoaT(n int) string { return strconv.Itoa(n) }

func multipartWriter(w io.Writer) *multipart.Writer { return multipart.NewWriter(w) }

func silentWAV(seconds float64) []byte {
	var b bytes.Buffer
	_ = audio.EncodeWAV16(&b, make([]float32, int(seconds*16000)))
	return b.Bytes()
}
