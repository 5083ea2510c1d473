package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/mqtt/mqtttest"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

// TestMain doubles as alphad's main for the lifecycle tests: with
// ALPHAD_TEST_MAIN set (JSON arguments) the test binary runs the CLI as
// main does, signals included, optionally with a hanging engine.
func TestMain(m *testing.M) {
	if args := os.Getenv("ALPHAD_TEST_MAIN"); args != "" {
		os.Exit(helperMain(args))
	}
	os.Exit(m.Run())
}

func helperMain(argsJSON string) int {
	var args []string
	if err := json.Unmarshal([]byte(argsJSON), &args); err != nil {
		fmt.Fprintln(os.Stderr, "ALPHAD_TEST_MAIN:", err)
		return 3
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d := newDeps(os.Stdout, os.Stderr)
	if os.Getenv("ALPHAD_TEST_ENGINE") == "hang" {
		d.newEngine = func(name string, log *slog.Logger) (engine.New, error) {
			inner, err := engineFactory(name, log)
			if err != nil {
				return nil, err
			}
			return func(m *tflite.Model, o engine.Options) (engine.Engine, error) {
				e, err := inner(m, o)
				if err != nil {
					return nil, err
				}
				return &hangEngine{Engine: e}, nil
			}, nil
		}
	}
	return runWith(ctx, d, args)
}

// hangEngine never returns from Invoke; it says so on stderr first.
type hangEngine struct {
	engine.Engine
	once sync.Once
}

func (e *hangEngine) Invoke() error {
	e.once.Do(func() { fmt.Fprintln(os.Stderr, "hang-engine: Invoke blocked") })
	select {}
}

// syncBuf is a bytes.Buffer safe for a child's output copier and the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// child is alphad running as a separate process (the test binary in
// helper mode).
type child struct {
	cmd    *exec.Cmd
	stderr *syncBuf
	done   chan error
}

func startChild(t *testing.T, engineMode string, args ...string) *child {
	t.Helper()
	a, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ALPHAD_TEST_MAIN="+string(a), "ALPHAD_TEST_ENGINE="+engineMode)
	c := &child{cmd: cmd, stderr: &syncBuf{}, done: make(chan error, 1)}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.done
	})
	return c
}

// waitLog waits until the child logged want (or exited, or timeout).
func (c *child) waitLog(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(c.stderr.String(), want) {
		select {
		case err := <-c.done:
			c.done <- err
			t.Fatalf("alphad exited (%v) before logging %q:\n%s", err, want, c.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("alphad did not log %q within %v:\n%s", want, timeout, c.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStopWithHungEngine: SIGHUP reloads and leaves the daemon running;
// SIGTERM with an engine stuck in Invoke ends the process within 10 s,
// and MQTT subscribers see it go offline.
func TestStopWithHungEngine(t *testing.T) {
	mqtttest.Binary(t)
	shared := testshared.Dir(t)
	broker := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	sub := mqtttest.Subscribe(t, broker.URL, "alphad/hung/#")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alphad.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("version: 1\nmqtt:\n  broker: %s\n  device_id: hung\nhttp:\n  listen: \"\"\n", broker.URL)), 0o644)
	c := startChild(t, "hang", "--state-dir", filepath.Join(dir, "state"), "run", "--config", cfg,
		"--camera", "image:"+filepath.Join(shared, "images", "parrot.jpg")+"?loop=true&fps=10",
		"--model", filepath.Join(shared, "models", "mobilenet_v2_1.0_224_quant.tflite"),
		"--labels", filepath.Join(shared, "models", "imagenet_labels.txt"), "--engine", "native")
	sub.Wait("alphad/hung/availability", 20*time.Second, func(m mqtttest.Message) bool { return string(m.Payload) == "online" })
	c.waitLog(t, "hang-engine: Invoke blocked", 20*time.Second)

	// SIGHUP: reload, keep running.
	os.WriteFile(cfg, []byte(fmt.Sprintf("version: 1\nlog:\n  level: debug\nsmoothing:\n  threshold: 0.4\nmqtt:\n  broker: %s\n  device_id: hung\nhttp:\n  listen: \"\"\n", broker.URL)), 0o644)
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	c.waitLog(t, "configuration reloaded", 10*time.Second)
	select {
	case err := <-c.done:
		t.Fatalf("SIGHUP stopped alphad: %v\n%s", err, c.stderr.String())
	default:
	}

	// SIGTERM with the frame loop stuck in Invoke.
	start := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
		c.done <- nil
		t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatalf("alphad still running 10 s after SIGTERM:\n%s", c.stderr.String())
	}
	sub.Wait("alphad/hung/availability", 5*time.Second, func(m mqtttest.Message) bool { return string(m.Payload) == "offline" })
	if !strings.Contains(c.stderr.String(), "frame loop still busy: model left open") {
		t.Errorf("no log of the model left to the stuck frame loop:\n%s", c.stderr.String())
	}
}
