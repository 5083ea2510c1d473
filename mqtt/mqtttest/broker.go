// Package mqtttest runs a real mosquitto broker for tests: a temporary
// configuration on a free loopback port, optional password file, ACL and
// TLS files (generated here with crypto/x509). It is imported only by
// tests.
package mqtttest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/testshared"
)

// BrokerOptions configure StartBroker. The zero value is an anonymous
// plain-TCP broker.
type BrokerOptions struct {
	Port int // 0: a free port
	// Users, if set, are written to a password file with mosquitto_passwd
	// and anonymous clients are refused (unless AllowAnonymous).
	Users          map[string]string
	AllowAnonymous bool
	PasswordFile   string // an existing password file (instead of Users)
	ACL            string // ACL file contents (mosquitto acl_file syntax)
	TLS            *TLSFiles
	// RequireCertificate asks clients for a certificate signed by TLS.CA.
	RequireCertificate bool
	// Extra is appended to the configuration (e.g. a bridge).
	Extra string
}

// Broker is a running mosquitto.
type Broker struct {
	Port int
	Addr string // 127.0.0.1:port
	URL  string // mqtt://… or mqtts://…

	t      testing.TB
	bin    string
	conf   string
	pwfile string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for mosquitto's output copier and the
// test reading it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Binary returns mosquitto's path, skipping the test (failing in CI) when
// it is not installed.
func Binary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	testshared.Lacking(t, testshared.GroupMQTT, "mosquitto not installed (apt install mosquitto)")
	return ""
}

// StartBroker starts mosquitto and waits until it accepts connections; it
// is killed at cleanup.
func StartBroker(t testing.TB, opts BrokerOptions) *Broker {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	port := opts.Port
	if port == 0 {
		port = FreePort(t)
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, "listener %d 127.0.0.1\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n", port)
	if os.Geteuid() == 0 {
		conf.WriteString("user root\n")
	}
	pwfile := opts.PasswordFile
	if len(opts.Users) > 0 {
		pwfile = filepath.Join(dir, "passwd")
		WritePasswordFile(t, pwfile, opts.Users)
	}
	anon := opts.AllowAnonymous || pwfile == ""
	fmt.Fprintf(&conf, "allow_anonymous %t\n", anon)
	if pwfile != "" {
		fmt.Fprintf(&conf, "password_file %s\n", pwfile)
	}
	if opts.ACL != "" {
		acl := filepath.Join(dir, "acl")
		if err := os.WriteFile(acl, []byte(opts.ACL), 0o600); err != nil {
			t.Fatalf("mqtttest: write acl: %v", err)
		}
		fmt.Fprintf(&conf, "acl_file %s\n", acl)
	}
	scheme := "mqtt"
	if opts.TLS != nil {
		scheme = "mqtts"
		fmt.Fprintf(&conf, "cafile %s\ncertfile %s\nkeyfile %s\n", opts.TLS.CA, opts.TLS.ServerCert, opts.TLS.ServerKey)
		if opts.RequireCertificate {
			conf.WriteString("require_certificate true\n")
		}
	}
	conf.WriteString(opts.Extra)
	b := &Broker{
		Port:   port,
		Addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		t:      t,
		bin:    bin,
		conf:   filepath.Join(dir, "mosquitto.conf"),
		pwfile: pwfile,
	}
	b.URL = scheme + "://" + b.Addr
	if err := os.WriteFile(b.conf, []byte(conf.String()), 0o600); err != nil {
		t.Fatalf("mqtttest: write config: %v", err)
	}
	b.Start()
	t.Cleanup(b.Kill)
	return b
}

// Start (re)starts the broker on its port and waits until it accepts.
func (b *Broker) Start() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		b.t.Fatalf("mqtttest: broker already running")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		log := new(syncBuffer)
		cmd := exec.Command(b.bin, "-c", b.conf)
		cmd.Stdout, cmd.Stderr = log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			b.t.Fatalf("mqtttest: start mosquitto: %v", err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		if b.waitReady(done, deadline) {
			b.cmd, b.done, b.log = cmd, done, log
			return
		}
		cmd.Process.Kill()
		<-done
		if time.Now().After(deadline) {
			b.t.Fatalf("mqtttest: mosquitto did not start on %s:\n%s", b.Addr, log)
		}
		time.Sleep(50 * time.Millisecond) // e.g. the port is still held by the previous run
	}
}

func (b *Broker) waitReady(done <-chan struct{}, deadline time.Time) bool {
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", b.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// Kill stops the broker at once (SIGKILL, like a crash); Start brings it
// back on the same port.
func (b *Broker) Kill() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Kill()
	<-b.done
	if b.t.Failed() {
		b.t.Logf("mosquitto log:\n%s", b.log)
	}
	b.cmd = nil
}

// SetUsers rewrites the password file (the broker must have been started
// with Users or PasswordFile) and makes the running broker reload it.
func (b *Broker) SetUsers(users map[string]string) {
	b.t.Helper()
	if b.pwfile == "" {
		b.t.Fatalf("mqtttest: SetUsers on a broker without a password file")
	}
	WritePasswordFile(b.t, b.pwfile, users)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	before := strings.Count(b.log.String(), "Reloading config")
	if err := b.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		b.t.Fatalf("mqtttest: reload: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); strings.Count(b.log.String(), "Reloading config") == before; {
		if time.Now().After(deadline) {
			b.t.Fatalf("mqtttest: mosquitto did not reload its configuration:\n%s", b.log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mqtttest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WritePasswordFile writes a mosquitto password file with
// mosquitto_passwd -b.
func WritePasswordFile(t testing.TB, path string, users map[string]string) {
	t.Helper()
	tool, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		testshared.Lacking(t, testshared.GroupMQTT, "mosquitto_passwd not installed (apt install mosquitto): "+err.Error())
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatalf("mqtttest: %v", err)
	}
	for user, pw := range users {
		if out, err := exec.Command(tool, "-b", path, user, pw).CombinedOutput(); err != nil {
			t.Fatalf("mqtttest: mosquitto_passwd %s: %v: %s", user, err, out)
		}
	}
}
