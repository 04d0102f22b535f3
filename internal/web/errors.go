package web

import (
	"errors"
	"net/http"
	"strings"

	"dictum/internal/entry"
	"dictum/internal/store"
)

// mapDomain turns store/domain errors into API errors with clear messages.
func mapDomain(err error) *apiError {
	msg := err.Error()
	switch {
	case errors.Is(err, entry.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	case errors.Is(err, entry.ErrForbidden):
		return &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: cleanMsg(msg, entry.ErrForbidden)}
	case errors.Is(err, entry.ErrConflict):
		return &apiError{Status: http.StatusConflict, Code: "conflict", Message: cleanMsg(msg, entry.ErrConflict)}
	case errors.Is(err, entry.ErrInvalid), errors.Is(err, store.ErrInvalid):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: cleanMsg(msg, entry.ErrInvalid, store.ErrInvalid)}
	case errors.Is(err, store.ErrExists):
		return &apiError{Status: http.StatusConflict, Code: "exists", Message: msg}
	}
	if strings.Contains(msg, "database or disk is full") || strings.Contains(msg, "no space left") {
		return &apiError{Status: http.StatusInsufficientStorage, Code: "disk_full", Message: "the server's disk is full; nothing was saved. Tell your administrator."}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; nothing was changed"}
}

// cleanMsg strips the sentinel prefix ("entry state does not allow this: ...").
func cleanMsg(msg string, sentinels ...error) string {
	for _, s := range sentinels {
		msg = strings.TrimPrefix(msg, s.Error()+": ")
	}
	if msg == "" {
		return "not allowed"
	}
	return msg
}
