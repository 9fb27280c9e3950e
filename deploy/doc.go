// Package deploy holds no code: its tests lint the deployment artifacts
// beside it (the Kubernetes manifests, the systemd unit and their tokenhook
// configuration files) without a cluster, a Docker engine or the internet.
// It is a module of its own, so that the Kubernetes API types it decodes the
// manifests with stay out of tokenhook's go.mod.
package deploy
