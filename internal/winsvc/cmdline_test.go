package winsvc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCommandLine(t *testing.T) {
	cases := []struct {
		exe, config, data string
		want, err         string
	}{
		{exe: `C:\Program Files\Dictum\dictum.exe`, config: `C:\ProgramData\Dictum\dictum.toml`,
			want: `"C:\Program Files\Dictum\dictum.exe" serve --config "C:\ProgramData\Dictum\dictum.toml"`},
		{exe: `C:\Dictum\dictum.exe`, config: `C:\ProgramData\Dictum\dictum.toml`, data: `D:\Dictum Data`,
			want: `"C:\Dictum\dictum.exe" serve --config "C:\ProgramData\Dictum\dictum.toml" --data "D:\Dictum Data"`},
		{exe: `C:\Dictum\dictum.exe`, config: `C:\d.toml`, data: `D:\Dictum\`,
			want: `"C:\Dictum\dictum.exe" serve --config "C:\d.toml" --data "D:\Dictum\\"`},
		{exe: `C:\Dictum\dictum.exe`, config: `C:\a"b.toml`, err: "cannot contain quotes"},
		{exe: "", config: `C:\d.toml`, err: "empty path"},
	}
	for _, tc := range cases {
		got, err := CommandLine(tc.exe, tc.config, tc.data)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("CommandLine(%q, %q, %q) error %v, want %q", tc.exe, tc.config, tc.data, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("CommandLine(%q, %q, %q)\n got %s (%v)\nwant %s", tc.exe, tc.config, tc.data, got, err, tc.want)
		}
	}
}

func TestWaitFor(t *testing.T) {
	seq := func(states ...State) func() (State, uint32, error) {
		i := 0
		return func() (State, uint32, error) {
			s := states[min(i, len(states)-1)]
			i++
			return s, 7, nil
		}
	}
	cases := []struct {
		name  string
		query func() (State, uint32, error)
		want  State
		err   string
	}{
		{"reaches running", seq(StartPending, StartPending, Running), Running, ""},
		{"reaches stopped", seq(StopPending, Stopped), Stopped, ""},
		{"fails while starting", seq(StartPending, Stopped), Running, "stopped while starting (exit code 7)"},
		{"times out", seq(StopPending), Stopped, "stop pending after"},
		{"query error", func() (State, uint32, error) { return 0, 0, errors.New("access denied") }, Running, "access denied"},
	}
	for _, tc := range cases {
		err := WaitFor(context.Background(), tc.query, tc.want, 20*time.Millisecond, time.Millisecond)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
		}
	}
}
