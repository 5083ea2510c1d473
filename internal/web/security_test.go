package web_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/daemon"
	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/internal/web"
)

// send makes a same-origin request with a session and returns the status
// and the JSON answer.
func send(t *testing.T, c *http.Client, base, method, path, ctype string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", base)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestRESTPathsStayInside: class names and sample ids given to the REST
// routes (in bodies, in escaped path segments, as upload file names)
// never reach outside the state directory: nothing is written outside it,
// nothing outside it is read or deleted.
func TestRESTPathsStayInside(t *testing.T) {
	r := newRig(t)
	c := r.login(t)
	rockDir := testshared.Path(t, "datasets", "rps_picam", "rock")
	img, err := os.ReadFile(filepath.Join(rockDir, firstFile(t, rockDir)))
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(filepath.Dir(r.stateDir), "outside.txt")
	if err := os.WriteFile(outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(r.stateDir, web.PasswordFile)
	names := []string{"../../evil", "..", "../outside.txt", "/etc/passwd", `..\..\evil`, "a/../../b"}
	for _, name := range names {
		body, _ := json.Marshal(map[string]string{"name": name})
		if code, out := send(t, c, r.base, http.MethodPost, "/api/classes", "application/json", body); code != http.StatusCreated {
			t.Logf("create class %q: %d %v", name, code, out) // refused is fine too
		}
		esc := url.PathEscape(name)
		var mp bytes.Buffer
		mw := multipart.NewWriter(&mp)
		fw, _ := mw.CreateFormFile("files", "../../../evil-upload.png")
		fw.Write(img)
		mw.Close()
		send(t, c, r.base, http.MethodPost, "/api/classes/"+esc+"/samples", mw.FormDataContentType(), mp.Bytes())
		send(t, c, r.base, http.MethodPost, "/api/classes/"+esc+"/record", "application/json", []byte(`{"action":"one"}`))
		renamed, _ := json.Marshal(map[string]string{"name": name + "-x"})
		send(t, c, r.base, http.MethodPatch, "/api/classes/"+esc, "application/json", renamed)
		if code, _ := send(t, c, r.base, http.MethodGet, "/api/classes/"+esc+"/samples", "", nil); code == http.StatusOK {
			t.Logf("class %q listed (a class of that name exists inside the store)", name)
		}
	}
	for _, id := range []string{"..%2F" + web.PasswordFile, "..%2F..%2Foutside.txt", "%2E%2E", "..%2Fcontrol.sock", "x%00"} {
		if code, _ := send(t, c, r.base, http.MethodDelete, "/api/samples/"+id, "", nil); code == http.StatusOK {
			t.Errorf("DELETE /api/samples/%s answered 200", id)
		}
		if code, _ := send(t, c, r.base, http.MethodGet, "/api/samples/"+id+"/image", "", nil); code != http.StatusNotFound {
			t.Errorf("GET /api/samples/%s/image: %d, want 404", id, code)
		}
		body, _ := json.Marshal(map[string]any{"ids": []string{id, "../" + web.PasswordFile}, "to": "rock"})
		if code, _ := send(t, c, r.base, http.MethodPost, "/api/samples/move", "application/json", body); code == http.StatusOK {
			t.Errorf("move of %s answered 200", id)
		}
		if code, _ := send(t, c, r.base, http.MethodPost, "/api/samples/delete", "application/json", body); code == http.StatusOK {
			t.Errorf("delete of %s answered 200", id)
		}
	}
	for _, v := range []string{"..%2F..%2Foutside.txt", "..", "%2E%2E%2F" + web.PasswordFile} {
		if code, _ := send(t, c, r.base, http.MethodGet, "/api/models/"+v+"/export", "", nil); code == http.StatusOK {
			t.Errorf("export of version %s answered 200", v)
		}
		if code, _ := send(t, c, r.base, http.MethodPost, "/api/models/"+v+"/activate", "application/json", nil); code == http.StatusOK {
			t.Errorf("activate of version %s answered 200", v)
		}
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "keep" {
		t.Errorf("the file beside the state directory: %q, %v", b, err)
	}
	if _, err := os.Stat(pwFile); err != nil {
		t.Errorf("the password file: %v", err)
	}
	parent := filepath.Dir(r.stateDir)
	filepath.WalkDir(parent, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != outside && !strings.HasPrefix(p, r.stateDir) && p != parent {
			t.Errorf("a file outside the state directory: %s", p)
		}
		if err == nil && d.Name() == "evil-upload.png" {
			t.Errorf("an upload kept its path as a file name: %s", p)
		}
		return nil
	})
	// Whatever was created is a class inside the store, named as given.
	res := r.cli(t, control.Status, nil)
	t.Logf("classes after the attempts: %v", res.Details["classes"])
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "alphad test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLS: with http.tls_cert and http.tls_key the daemon serves HTTPS:
// the login link is https, the session cookie is Secure, the app and
// /healthz answer over TLS and plain HTTP gets no app. config check
// refuses a lone or unreadable certificate, naming the field.
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	r := newRig(t, func(c *daemon.Config) { c.HTTP.TLSCert, c.HTTP.TLSKey = certFile, keyFile })
	link := r.cli(t, control.LoginLink, nil).Message
	if !strings.HasPrefix(link, "https://127.0.0.1:") {
		t.Fatalf("login link %q, want https", link)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login over TLS: %s", resp.Status)
	}
	sc := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"Secure", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(sc, want) {
			t.Errorf("session cookie over TLS %q lacks %s", sc, want)
		}
	}
	for path, want := range map[string]int{"/api/status": 200, "/": 200, "/healthz": 200} {
		resp, err := c.Get(r.base + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want && !(path == "/healthz" && resp.StatusCode == http.StatusServiceUnavailable) {
			t.Errorf("GET %s over TLS: %s, want %d", path, resp.Status, want)
		}
		if path == "/" && resp.Header.Get("Strict-Transport-Security") == "" {
			t.Error("no Strict-Transport-Security over TLS")
		}
	}
	plain := strings.Replace(r.base, "https://", "http://", 1)
	if resp, err := http.Get(plain + "/api/status"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP on the TLS port answered 200: %q", body)
		}
	}

	// config check: both or neither, and files that load.
	for _, tc := range []struct {
		cert, key, want string
	}{
		{certFile, "", "tls_cert and tls_key go together"},
		{"", keyFile, "tls_cert and tls_key go together"},
		{filepath.Join(t.TempDir(), "missing.pem"), keyFile, "missing.pem"},
		{keyFile, certFile, "http.tls_cert"},
	} {
		y := "version: 1\nhttp:\n  listen: 127.0.0.1:0\n"
		if tc.cert != "" {
			y += "  tls_cert: " + tc.cert + "\n"
		}
		if tc.key != "" {
			y += "  tls_key: " + tc.key + "\n"
		}
		_, err := daemon.ParseConfig("c.yaml", []byte(y))
		if err == nil || !strings.Contains(err.Error(), "http.tls_cert") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("cert %q key %q: %v, want an error naming http.tls_cert and %q", tc.cert, tc.key, err, tc.want)
		}
	}
	y := "version: 1\nhttp:\n  tls_cert: " + certFile + "\n  tls_key: " + keyFile + "\n"
	if _, err := daemon.ParseConfig("c.yaml", []byte(y)); err != nil {
		t.Errorf("a good certificate: %v", err)
	}
}

// TestMetricsAuth: /metrics and /healthz are open by default; with
// http.metrics_auth /metrics needs a session, /healthz stays open.
func TestMetricsAuth(t *testing.T) {
	for _, guarded := range []bool{false, true} {
		r := newRig(t, func(c *daemon.Config) { c.HTTP.MetricsAuth = guarded })
		get := func(c *http.Client, path string) int {
			resp, err := c.Get(r.base + path)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
		want := http.StatusOK
		if guarded {
			want = http.StatusUnauthorized
		}
		if code := get(http.DefaultClient, "/metrics"); code != want {
			t.Errorf("metrics_auth %v: /metrics without a session: %d, want %d", guarded, code, want)
		}
		if code := get(http.DefaultClient, "/healthz"); code == http.StatusUnauthorized {
			t.Errorf("metrics_auth %v: /healthz needs a session", guarded)
		}
		if code := get(r.login(t), "/metrics"); code != http.StatusOK {
			t.Errorf("metrics_auth %v: /metrics with a session: %d", guarded, code)
		}
	}
}
