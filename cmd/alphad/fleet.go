package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/daemon"
	"github.com/alphad/alphad/internal/fleet"
	"github.com/alphad/alphad/mqtt"
)

// newFleetCmd is `alphad fleet`: keys and the fleet view (docs/fleet.md).
func newFleetCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Share models between devices over MQTT: signing keys and the list of devices",
	}
	cmd.AddCommand(newFleetKeygenCmd(d), newFleetLsCmd(d))
	return cmd
}

func newFleetKeygenCmd(d *deps) *cobra.Command {
	var out, comment string
	cmd := &cobra.Command{
		Use:   "keygen --out FILE",
		Short: "Make an ed25519 key pair: FILE (private, for fleet.signing_key) and FILE.pub (for fleet.trusted_keys)",
		Example: `  alphad fleet keygen --out /etc/alphad/fleet.key
  # on the publisher:  fleet: {signing_key: /etc/alphad/fleet.key}
  # on the others:     fleet: {trusted_keys: ["ed25519:…"]}   (the line of fleet.key.pub)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return &exitError{code: 2, err: errors.New("fleet keygen: --out FILE is required")}
			}
			pub, err := fleet.GenerateKey(out, comment)
			if err != nil {
				return err
			}
			fmt.Fprintf(d.stdout, "private key: %s (keep it secret: it signs the fleet's models)\npublic key:  %s.pub (key id %s)\n%s\n",
				out, out, fleet.KeyID(pub), fleet.FormatPublicKey(pub))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "private key file to write (the public key goes to FILE.pub)")
	cmd.Flags().StringVar(&comment, "comment", "", "a comment on the public key line (e.g. the publisher's name)")
	return cmd
}

// fleetConfig reads the daemon's configuration for the fleet commands:
// --config, else /etc/alphad/alphad.yaml when it exists.
func fleetConfig(file string) (daemon.Config, error) {
	if file == "" {
		if _, err := os.Stat(defaultConfigFile); err != nil {
			return daemon.DefaultConfig(), nil
		}
		file = defaultConfigFile
	}
	cfg, err := loadConfig(file)
	if err != nil {
		return cfg, &exitError{code: 2, err: err}
	}
	return cfg, nil
}

func newFleetLsCmd(d *deps) *cobra.Command {
	var configFile, broker, group string
	var asJSON bool
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the devices of the fleet group seen on the broker: availability, model, fps, last seen",
		Long: `Reads the retained messages of the group's members (alphad/fleet/<group>/members/+)
and of each member's own topics (availability, diagnostics, state), and
prints one line per device. The broker, credentials and group come from
--config (default ` + defaultConfigFile + ` when it exists); flags override them.`,
		Example: `  alphad fleet ls
  alphad fleet ls --broker mqtt://broker.lan:1883 --group workshop --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := fleetConfig(configFile)
			if err != nil {
				return err
			}
			mq := cfg.MQTT
			mq.Broker = cmp.Or(broker, mq.Broker, d.getenv(envMQTTBroker))
			group = cmp.Or(group, cfg.Fleet.Group)
			if mq.Broker == "" || group == "" {
				return &exitError{code: 2, err: errors.New("fleet ls: no broker or group: give --config with mqtt.broker and fleet.group, or --broker and --group")}
			}
			if !fleet.ValidGroup(group) {
				return &exitError{code: 2, err: fmt.Errorf("fleet ls: group %q: 1-64 letters, digits, '_' or '-'", group)}
			}
			if mq.Password == "" && mq.PasswordFile == "" {
				mq.Password = mqtt.Secret(d.getenv(envMQTTPassword))
			}
			mq.DeviceID = cmp.Or(mq.DeviceID, deviceID())
			members, err := fleet.Survey(cmd.Context(), mq, group, 500*time.Millisecond, wait)
			if err != nil {
				return fmt.Errorf("fleet ls: %w", err)
			}
			return printMembers(d, members, asJSON, time.Now())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&configFile, "config", "", "the daemon's configuration (mqtt and fleet sections)")
	fl.StringVar(&broker, "broker", "", "MQTT broker URL (overrides the configuration)")
	fl.StringVar(&group, "group", "", "fleet group (overrides fleet.group)")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	fl.DurationVar(&wait, "wait", 3*time.Second, "longest wait for the retained messages")
	return cmd
}

func printMembers(d *deps, members []fleet.Member, asJSON bool, now time.Time) error {
	if asJSON {
		if members == nil {
			members = []fleet.Member{}
		}
		enc := json.NewEncoder(d.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(members)
	}
	if len(members) == 0 {
		fmt.Fprintln(d.stdout, "no devices in the group")
		return nil
	}
	w := tabwriter.NewWriter(d.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "DEVICE\tAVAILABILITY\tMODEL\tFROM\tFPS\tLAST SEEN")
	for _, m := range members {
		fps, seen := "-", "-"
		if m.FPS != nil && !math.IsNaN(*m.FPS) {
			fps = fmt.Sprintf("%.1f", *m.FPS)
		}
		if !m.LastSeen.IsZero() {
			seen = fmt.Sprintf("%s ago", now.Sub(m.LastSeen).Round(time.Second))
		}
		name := m.DeviceID
		if m.Trainer {
			name += " (trainer)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", name, cmp.Or(m.Availability, "?"), cmp.Or(m.ModelVersion, "-"),
			cmp.Or(m.Adopted, "-"), fps, seen)
	}
	return w.Flush()
}

// newModelPublishCmd is `alphad model publish [VERSION]`.
func newModelPublishCmd(d *deps) *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "publish [VERSION]",
		Short: "Publish a model version (default: the current one) to the fleet group, signed, as a retained MQTT message",
		Long: `Through the running daemon when one owns the state directory (the control
socket's publish command), else standalone: the mqtt and fleet sections of
--config (default ` + defaultConfigFile + ` when it exists) give the broker, the
group and fleet.signing_key. See docs/fleet.md.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			version := ""
			if len(args) == 1 {
				version = args[0]
			}
			if c, err := d.remote(); err != nil {
				return fmt.Errorf("model publish: %w", err)
			} else if c != nil {
				return remoteSimple(cmd.Context(), d, c, "model publish", control.Publish, map[string]any{"version": version})
			}
			cfg, err := fleetConfig(configFile)
			if err != nil {
				return err
			}
			return publishStandalone(cmd.Context(), d, cfg, version)
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "the daemon's configuration (mqtt and fleet sections)")
	return cmd
}

func publishStandalone(ctx context.Context, d *deps, cfg daemon.Config, version string) error {
	switch {
	case cfg.Fleet.Group == "" || cfg.MQTT.Broker == "":
		return &exitError{code: 2, err: errors.New("model publish: no daemon runs and the configuration has no fleet.group or mqtt.broker (give --config)")}
	case cfg.Fleet.SigningKey == "":
		return &exitError{code: 2, err: errors.New("model publish: fleet.signing_key is not set (alphad fleet keygen --out FILE)")}
	}
	key, err := fleet.ReadPrivateKey(cfg.Fleet.SigningKey)
	if err != nil {
		return fmt.Errorf("model publish: %w", err)
	}
	if d.stateDir == "" && d.getenv("ALPHAD_STATE_DIR") == "" && cfg.StateDir != "" {
		d.stateDir = cfg.StateDir
	}
	models, err := d.openModels()
	if err != nil {
		return fmt.Errorf("model publish: %w", err)
	}
	mq := cfg.MQTT
	mq.DeviceID = cmp.Or(mq.DeviceID, deviceID())
	if mq.Password == "" && mq.PasswordFile == "" {
		mq.Password = mqtt.Secret(d.getenv(envMQTTPassword))
	}
	meta, body, err := fleet.FromVersion(models, version, mq.DeviceID, cfg.Fleet.Group, time.Now())
	if err != nil {
		return fmt.Errorf("model publish: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := fleet.PublishOnce(ctx, mq, meta, body, key)
	if err != nil {
		return fmt.Errorf("model publish: %w", err)
	}
	fmt.Fprintf(d.stdout, "published %s on %s (%d bytes, retained)\n", meta.Version, fleet.ModelTopic(cfg.Fleet.Group), n)
	return nil
}
