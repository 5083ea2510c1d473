package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/mqtt"
)

// envMQTTPassword is read when neither a password nor a password file is
// configured.
const envMQTTPassword = "ALPHAD_MQTT_PASSWORD"

func newMQTTCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mqtt",
		Short: "MQTT and Home Assistant tools",
	}
	cmd.AddCommand(newMQTTTestCmd(d))
	return cmd
}

func newMQTTTestCmd(d *deps) *cobra.Command {
	var (
		configFile string
		cfg        = mqtt.Default()
		echo       time.Duration
		timeout    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Connect to the broker, publish availability and a sample state, and report success or the precise failure",
		Long: `Connects once with the given settings (or those of --config, which flags
override), subscribes to <prefix>/availability and <prefix>/state, publishes
"online" and a sample state there (not retained) and waits for each to come
back. Failures name the cause: connection refused, DNS, TLS verification,
missing client certificate, bad credentials (CONNACK 4/5) or an ACL that
denies the topic (MQTT 3.1.1 brokers drop such publishes silently, so this
shows as a missing echo). The client id is <client_id>-test, so a running
daemon stays connected. The password comes from --password-file, the
configuration, or $` + envMQTTPassword + `.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			base := mqtt.Default()
			if configFile != "" {
				full, err := loadConfig(configFile)
				if err != nil {
					return err
				}
				base = full.MQTT
			}
			// Flags the user set override the file.
			fl := c.Flags()
			set := func(name string, dst, src any) {
				if !fl.Changed(name) {
					return
				}
				switch dst := dst.(type) {
				case *string:
					*dst = *src.(*string)
				case *bool:
					*dst = *src.(*bool)
				case *int:
					*dst = *src.(*int)
				}
			}
			set("broker", &base.Broker, &cfg.Broker)
			set("device-id", &base.DeviceID, &cfg.DeviceID)
			set("client-id", &base.ClientID, &cfg.ClientID)
			set("username", &base.Username, &cfg.Username)
			set("password-file", &base.PasswordFile, &cfg.PasswordFile)
			set("ca", &base.CAFile, &cfg.CAFile)
			set("cert", &base.CertFile, &cfg.CertFile)
			set("key", &base.KeyFile, &cfg.KeyFile)
			set("insecure", &base.InsecureSkipVerify, &cfg.InsecureSkipVerify)
			set("topic-prefix", &base.TopicPrefix, &cfg.TopicPrefix)
			if fl.Changed("timeout") {
				base.ConnectTimeout = timeout
			}
			if fl.Changed("password-file") {
				base.Password = ""
			}
			if base.Broker == "" {
				return &exitError{code: 2, err: fmt.Errorf("mqtt test: --broker (or a --config with mqtt.broker) is required")}
			}
			if base.DeviceID == "" {
				host, _ := os.Hostname()
				base.DeviceID = mqtt.DeviceIDFromHostname(host)
			}
			if base.Password == "" && base.PasswordFile == "" {
				base.Password = mqtt.Secret(d.getenv(envMQTTPassword))
			}
			if err := base.Validate(); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("mqtt test: %w", err)}
			}
			rep, err := mqtt.Probe(c.Context(), base, echo, d.log)
			if err != nil {
				return fmt.Errorf("mqtt test: %w", err)
			}
			fmt.Fprintf(d.stdout, "ok: connected to %s as %s in %v\n", rep.Broker, rep.ClientID, rep.Connect.Round(100*time.Microsecond))
			for i, topic := range rep.Topics {
				fmt.Fprintf(d.stdout, "ok: published and received %s (%v)\n", topic, rep.RoundTrip[i].Round(100*time.Microsecond))
			}
			if rep.Discovery != "" {
				fmt.Fprintf(d.stdout, "the daemon will announce itself to Home Assistant on %s\n", rep.Discovery)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "daemon configuration file to take the mqtt section from")
	f.StringVar(&cfg.Broker, "broker", "", "broker URL: mqtt://host:1883, mqtts://host:8883, ws://host:9001/mqtt")
	f.StringVar(&cfg.DeviceID, "device-id", "", "device id (default: the host name)")
	f.StringVar(&cfg.ClientID, "client-id", "", "client id (default alphad-<device-id>; -test is appended)")
	f.StringVar(&cfg.Username, "username", "", "user name")
	f.StringVar(&cfg.PasswordFile, "password-file", "", "file whose first line is the password (else $"+envMQTTPassword+")")
	f.StringVar(&cfg.CAFile, "ca", "", "CA certificate (PEM) to verify the broker with")
	f.StringVar(&cfg.CertFile, "cert", "", "client certificate (PEM)")
	f.StringVar(&cfg.KeyFile, "key", "", "client key (PEM)")
	f.BoolVar(&cfg.InsecureSkipVerify, "insecure", false, "do not verify the broker's certificate (testing only)")
	f.StringVar(&cfg.TopicPrefix, "topic-prefix", "", "topic prefix (default alphad/<device-id>)")
	f.DurationVar(&timeout, "timeout", 10*time.Second, "connect timeout")
	f.DurationVar(&echo, "echo-timeout", 3*time.Second, "how long to wait for each published message to come back")
	return cmd
}
