package deploy_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

const manifestDir = "kubernetes"

// kustomization is the part of kustomize's Kustomization we use, decoded
// strictly like the rest: a key we do not know is a mistake.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

// manifests is every object of deploy/kubernetes, typed.
type manifests struct {
	files       map[string][]any // file name → its objects
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	pdbs        []*policyv1.PodDisruptionBudget
	kustomize   *kustomization
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// newObject returns the typed object for a manifest's apiVersion and kind,
// or nil for one this directory is not expected to hold.
func newObject(tm metav1.TypeMeta) any {
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}
	case "v1 Service":
		return &corev1.Service{}
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}
	case "v1 Secret":
		return &corev1.Secret{}
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		return &kustomization{}
	}
	return nil
}

// decodeManifests decodes every YAML document of data strictly into its
// typed object: an unknown or misspelt field, a duplicate key or a value of
// the wrong type fails.
func decodeManifests(t *testing.T, where string, data []byte) []any {
	t.Helper()
	var objs []any
	for i, doc := range docSeparator.Split(string(data), -1) {
		var probe map[string]any
		if err := yaml.Unmarshal([]byte(doc), &probe); err != nil {
			t.Errorf("%s, document %d: %v", where, i+1, err)
			continue
		}
		if len(probe) == 0 {
			continue // comments only
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Errorf("%s, document %d: %v", where, i+1, err)
			continue
		}
		obj := newObject(tm)
		if obj == nil {
			t.Errorf("%s, document %d: unexpected apiVersion %q kind %q", where, i+1, tm.APIVersion, tm.Kind)
			continue
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Errorf("%s, document %d (%s): %v", where, i+1, tm.Kind, err)
			continue
		}
		objs = append(objs, obj)
	}
	return objs
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(manifestDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	m := &manifests{files: map[string][]any{}, configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	for _, name := range names {
		base := filepath.Base(name)
		if !strings.HasSuffix(base, ".yaml") {
			t.Errorf("%s: the manifests are *.yaml files", name)
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		objs := decodeManifests(t, name, data)
		m.files[base] = objs
		for _, obj := range objs {
			var meta *metav1.ObjectMeta
			switch o := obj.(type) {
			case *appsv1.Deployment:
				m.deployments, meta = append(m.deployments, o), &o.ObjectMeta
			case *corev1.Service:
				m.services, meta = append(m.services, o), &o.ObjectMeta
			case *corev1.ConfigMap:
				m.configMaps[o.Name], meta = o, &o.ObjectMeta
			case *corev1.Secret:
				m.secrets[o.Name], meta = o, &o.ObjectMeta
			case *autoscalingv2.HorizontalPodAutoscaler:
				m.hpas, meta = append(m.hpas, o), &o.ObjectMeta
			case *policyv1.PodDisruptionBudget:
				m.pdbs, meta = append(m.pdbs, o), &o.ObjectMeta
			case *kustomization:
				if base != "kustomization.yaml" || m.kustomize != nil {
					t.Errorf("%s: the one Kustomization belongs in kustomization.yaml", name)
				}
				m.kustomize = o
			}
			if meta != nil {
				for _, msg := range validation.IsDNS1123Subdomain(meta.Name) {
					t.Errorf("%s: name %q: %s", name, meta.Name, msg)
				}
				if meta.Namespace != "" {
					t.Errorf("%s: %s sets a namespace: leave it to kubectl -n or the kustomization", name, meta.Name)
				}
				for k, v := range meta.Labels {
					for _, msg := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
						t.Errorf("%s: label %s=%s: %s", name, k, v, msg)
					}
				}
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return m
}

func TestManifestsDecodeStrictly(t *testing.T) {
	m := loadManifests(t)
	if len(m.deployments) != 1 || len(m.services) != 1 || len(m.hpas) != 1 || len(m.pdbs) != 1 || len(m.configMaps) != 1 || len(m.secrets) != 1 || m.kustomize == nil {
		t.Fatalf("want one each of Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget, ConfigMap, Secret and Kustomization; have %d, %d, %d, %d, %d, %d, %v",
			len(m.deployments), len(m.services), len(m.hpas), len(m.pdbs), len(m.configMaps), len(m.secrets), m.kustomize != nil)
	}
	// The decoder is strict: a misspelt field fails, so this test can be
	// trusted to catch one.
	bad := []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  selectr:\n    app: x\n")
	var svc corev1.Service
	if err := yaml.UnmarshalStrict(bad, &svc); err == nil || !strings.Contains(err.Error(), "selectr") {
		t.Errorf("UnmarshalStrict of a misspelt field: %v, want an error naming it", err)
	}
}

func TestKustomization(t *testing.T) {
	m := loadManifests(t)
	k := m.kustomize
	for _, r := range k.Resources {
		if _, ok := m.files[r]; !ok {
			t.Errorf("kustomization.yaml lists %s, which is not in %s", r, manifestDir)
		}
	}
	for name, objs := range m.files {
		if name == "kustomization.yaml" {
			continue
		}
		listed := slices.Contains(k.Resources, name)
		_, isSecret := objs[0].(*corev1.Secret)
		switch {
		case isSecret && listed:
			// Applying the placeholders would overwrite the Secret made
			// with kubectl create secret.
			t.Errorf("kustomization.yaml lists %s: kubectl apply -k would replace the real Secret with its placeholders", name)
		case !isSecret && !listed:
			t.Errorf("kustomization.yaml does not list %s", name)
		}
	}
	d := m.deployments[0]
	for _, c := range d.Spec.Template.Spec.Containers {
		found := false
		for _, img := range k.Images {
			found = found || img.Name == c.Image
		}
		if !found {
			t.Errorf("container %s: image %q has no images: entry in kustomization.yaml to set its registry and tag", c.Name, c.Image)
		}
	}
}

// containerPort resolves a port (a number or a name) to one of c's ports.
func containerPort(c corev1.Container, p intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

// hookContainer returns the Deployment's tokenhook container.
func hookContainer(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "tokenhook" {
			return c
		}
	}
	t.Fatalf("deployment %s: no container named tokenhook", d.Name)
	return corev1.Container{}
}

func envValue(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

func TestCrossReferences(t *testing.T) {
	m := loadManifests(t)
	d := m.deployments[0]
	pod := d.Spec.Template
	podLabels := labels.Set(pod.Labels)

	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(podLabels) {
		t.Errorf("deployment %s: selector %v (%v) does not match its template's labels %v", d.Name, d.Spec.Selector, err, pod.Labels)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("deployment %s: want at least 2 replicas", d.Name)
	}
	for _, tsc := range pod.Spec.TopologySpreadConstraints {
		if s, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector); err != nil || !s.Matches(podLabels) {
			t.Errorf("topologySpreadConstraint %s: its selector does not match the pods", tsc.TopologyKey)
		}
	}

	c := hookContainer(t, d)
	// Probes, the Service and the Prometheus annotation name ports the
	// container has.
	probes := map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe}
	for what, p := range probes {
		if p == nil {
			continue
		}
		if p.HTTPGet == nil {
			t.Errorf("%s probe: want an HTTP GET", what)
			continue
		}
		if _, ok := containerPort(c, p.HTTPGet.Port); !ok {
			t.Errorf("%s probe: port %s is not a port of container %s", what, p.HTTPGet.Port.String(), c.Name)
		}
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe: want GET /healthz")
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe: want GET /readyz")
	}

	// The admin listener: TOKENHOOK_METRICS_LISTEN, the probes' port and
	// the scrape annotation agree.
	metricsEnv, ok := envValue(c, "TOKENHOOK_METRICS_LISTEN")
	if !ok {
		t.Fatal("no TOKENHOOK_METRICS_LISTEN: the probes and metrics need the admin listener")
	}
	_, metricsPort, err := net.SplitHostPort(metricsEnv.Value)
	if err != nil {
		t.Fatalf("TOKENHOOK_METRICS_LISTEN=%q: %v", metricsEnv.Value, err)
	}
	for what, p := range probes {
		if p != nil && p.HTTPGet != nil {
			if cp, ok := containerPort(c, p.HTTPGet.Port); ok && strconv.Itoa(int(cp.ContainerPort)) != metricsPort {
				t.Errorf("%s probe: port %d, but /healthz and /readyz are on the admin listener %s", what, cp.ContainerPort, metricsEnv.Value)
			}
		}
	}
	if pod.Annotations["prometheus.io/scrape"] != "true" || pod.Annotations["prometheus.io/port"] != metricsPort || pod.Annotations["prometheus.io/path"] == "" {
		t.Errorf("pod annotations %v: want prometheus.io/scrape \"true\", port %s and a path", pod.Annotations, metricsPort)
	}

	// The Service selects these pods and targets their ports.
	svc := m.services[0]
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("service %s: selector %v does not match the deployment's pods %v", svc.Name, svc.Spec.Selector, pod.Labels)
	}
	hookPortFound := false
	for _, sp := range svc.Spec.Ports {
		cp, ok := containerPort(c, sp.TargetPort)
		if !ok {
			t.Errorf("service %s: port %s targets %s, not a port of container %s", svc.Name, sp.Name, sp.TargetPort.String(), c.Name)
		}
		hookPortFound = hookPortFound || cp.ContainerPort == 8082
	}
	if !hookPortFound {
		t.Errorf("service %s: no port targets the hook's 8082", svc.Name)
	}

	// The PDB and the HPA target the Deployment.
	pdb := m.pdbs[0]
	if s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err != nil || s.Empty() || !s.Matches(podLabels) {
		t.Errorf("pdb %s: selector does not match the deployment's pods", pdb.Name)
	}
	if pdb.Spec.MinAvailable == nil || *pdb.Spec.MinAvailable != intstr.FromInt32(1) {
		t.Errorf("pdb %s: minAvailable %v, want 1", pdb.Name, pdb.Spec.MinAvailable)
	}
	hpa := m.hpas[0]
	ref := hpa.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
		t.Errorf("hpa %s: targets %s %s %s, want apps/v1 Deployment %s", hpa.Name, ref.APIVersion, ref.Kind, ref.Name, d.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 || hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas {
		t.Errorf("hpa %s: minReplicas %v maxReplicas %d: want 2 <= min <= max", hpa.Name, hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	} else if *hpa.Spec.MinReplicas != *d.Spec.Replicas {
		t.Errorf("hpa %s: minReplicas %d, deployment replicas %d: keep them equal, or every apply resets the scale", hpa.Name, *hpa.Spec.MinReplicas, *d.Spec.Replicas)
	}
	cpu := false
	for _, metric := range hpa.Spec.Metrics {
		cpu = cpu || (metric.Type == autoscalingv2.ResourceMetricSourceType && metric.Resource != nil && metric.Resource.Name == corev1.ResourceCPU)
	}
	if !cpu {
		t.Errorf("hpa %s: want a CPU resource metric", hpa.Name)
	}

	// Every Secret and ConfigMap the pod names is defined here, with the
	// key it names.
	hasKey := func(kind, name, key string) {
		t.Helper()
		switch kind {
		case "Secret":
			s, ok := m.secrets[name]
			if !ok {
				t.Errorf("secret %s is not defined in %s", name, manifestDir)
				return
			}
			_, inData := s.Data[key]
			_, inString := s.StringData[key]
			if key != "" && !inData && !inString {
				t.Errorf("secret %s has no key %s", name, key)
			}
		case "ConfigMap":
			cm, ok := m.configMaps[name]
			if !ok {
				t.Errorf("configmap %s is not defined in %s", name, manifestDir)
				return
			}
			if _, ok := cm.Data[key]; key != "" && !ok {
				t.Errorf("configmap %s has no key %s", name, key)
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			hasKey("Secret", e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
		}
		if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
			hasKey("ConfigMap", e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key)
		}
	}
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil {
			hasKey("Secret", ef.SecretRef.Name, "")
		}
		if ef.ConfigMapRef != nil {
			hasKey("ConfigMap", ef.ConfigMapRef.Name, "")
		}
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
		switch {
		case v.Secret != nil:
			hasKey("Secret", v.Secret.SecretName, "")
			for _, item := range v.Secret.Items {
				hasKey("Secret", v.Secret.SecretName, item.Key)
			}
		case v.ConfigMap != nil:
			hasKey("ConfigMap", v.ConfigMap.Name, "")
			for _, item := range v.ConfigMap.Items {
				hasKey("ConfigMap", v.ConfigMap.Name, item.Key)
			}
		}
	}
	for _, vm := range c.VolumeMounts {
		if _, ok := volumes[vm.Name]; !ok {
			t.Errorf("volume mount %s: no such volume", vm.Name)
		}
		if vm.SubPath != "" {
			t.Errorf("volume mount %s: subPath mounts are never updated, so a rotated secret or edited config would not reach the pod", vm.Name)
		}
	}
}

func TestSecurityContext(t *testing.T) {
	m := loadManifests(t)
	d := m.deployments[0]
	spec := d.Spec.Template.Spec
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken: want false, the server needs no Kubernetes API")
	}
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		t.Error("enableServiceLinks: want false, or the Service's TOKENHOOK_* link variables land in the server's configuration namespace")
	}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		nonRoot := sc.RunAsNonRoot
		if nonRoot == nil {
			nonRoot = psc.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			t.Errorf("container %s: runAsNonRoot: want true", c.Name)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 || psc.RunAsUser != nil && *psc.RunAsUser == 0 {
			t.Errorf("container %s: runs as uid 0", c.Name)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("container %s: readOnlyRootFilesystem: want true", c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("container %s: allowPrivilegeEscalation: want false", c.Name)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("container %s: privileged", c.Name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("container %s: capabilities: want drop [ALL] and none added", c.Name)
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = psc.SeccompProfile
		}
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("container %s: seccompProfile: want RuntimeDefault", c.Name)
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[res]; !ok {
				t.Errorf("container %s: no %s request", c.Name, res)
			}
			if _, ok := c.Resources.Limits[res]; !ok {
				t.Errorf("container %s: no %s limit", c.Name, res)
			}
		}
		if !c.Resources.Requests.Memory().IsZero() && c.Resources.Requests.Memory().Cmp(*c.Resources.Limits.Memory()) > 0 {
			t.Errorf("container %s: memory request above its limit", c.Name)
		}
	}
}

// materialize writes the files the pod would see under each of its
// ConfigMap and Secret volume mounts into a temporary directory, and
// returns a function mapping a path in the container to the path there.
func materialize(t *testing.T, m *manifests, d *appsv1.Deployment, c corev1.Container) func(string) string {
	t.Helper()
	root := t.TempDir()
	volumes := map[string]corev1.Volume{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	type mount struct{ container, local string }
	var mounts []mount
	for _, vm := range c.VolumeMounts {
		v := volumes[vm.Name]
		files := map[string]string{}
		switch {
		case v.ConfigMap != nil:
			data := m.configMaps[v.ConfigMap.Name].Data
			if len(v.ConfigMap.Items) == 0 {
				for k, val := range data {
					files[k] = val
				}
			}
			for _, item := range v.ConfigMap.Items {
				files[item.Path] = data[item.Key]
			}
		case v.Secret != nil:
			s := m.secrets[v.Secret.SecretName]
			value := func(k string) string {
				if val, ok := s.StringData[k]; ok {
					return val
				}
				return string(s.Data[k])
			}
			if len(v.Secret.Items) == 0 {
				for k := range s.StringData {
					files[k] = value(k)
				}
				for k := range s.Data {
					files[k] = value(k)
				}
			}
			for _, item := range v.Secret.Items {
				files[item.Path] = value(item.Key)
			}
		default:
			continue
		}
		local := filepath.Join(root, vm.Name)
		for name, content := range files {
			p := filepath.Join(local, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		mounts = append(mounts, mount{path.Clean(vm.MountPath), local})
	}
	return func(p string) string {
		for _, mt := range mounts {
			if rest, ok := strings.CutPrefix(p, mt.container+"/"); ok {
				return filepath.Join(mt.local, filepath.FromSlash(rest))
			}
		}
		return p
	}
}

// TestConfigMapIsValid runs the real binary's `rules check` on the
// ConfigMap's tokenhook.yaml with the environment the Deployment gives the
// container (secrets from secret.yaml's placeholders, mounted files where
// the pod would see them): what serve would load at start.
func TestConfigMapIsValid(t *testing.T) {
	m := loadManifests(t)
	d := m.deployments[0]
	c := hookContainer(t, d)
	known := configEnvNames(t)

	args := append(slices.Clone(c.Command), c.Args...)
	if len(args) == 0 || args[0] != "serve" {
		t.Fatalf("container args %q: want serve first (the image's entrypoint is the binary)", args)
	}
	i := slices.IndexFunc(args, func(a string) bool { return a == "--config" || a == "-c" })
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("container args %q: want --config FILE", args)
	}
	local := materialize(t, m, d, c)
	config := local(args[i+1])
	if _, err := os.Stat(config); err != nil {
		t.Fatalf("--config %s is not a file of a ConfigMap volume: %v", args[i+1], err)
	}

	environ := []string{}
	for _, e := range c.Env {
		checkEnvName(t, known, "deployment "+d.Name, e.Name)
		value := e.Value
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			s := m.secrets[ref.Name]
			value = s.StringData[ref.Key]
			if value == "" {
				value = string(s.Data[ref.Key])
			}
		case e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
			value = m.configMaps[e.ValueFrom.ConfigMapKeyRef.Name].Data[e.ValueFrom.ConfigMapKeyRef.Key]
		case e.ValueFrom != nil:
			continue // field and resource references: not tokenhook's
		}
		if strings.HasSuffix(e.Name, "_FILE") {
			value = local(value)
			if _, err := os.Stat(value); err != nil {
				t.Errorf("%s=%s is not a file of a mounted volume: %v", e.Name, e.Value, err)
			}
		}
		environ = append(environ, e.Name+"="+value)
	}
	for _, want := range []string{"TOKENHOOK_AUTH_REQUIRE=true", "TOKENHOOK_STORE=postgres"} {
		if !slices.ContainsFunc(environ, func(kv string) bool { return strings.HasPrefix(kv, want) }) {
			t.Errorf("deployment env: want %s…", want)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The grace period holds the preStop pause and the server's shutdown.
	var cfg struct {
		Server struct {
			ShutdownTimeout string `json:"shutdown_timeout"`
		} `json:"server"`
	}
	data, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	shutdown := 10 * time.Second // the default
	if cfg.Server.ShutdownTimeout != "" {
		if shutdown, err = time.ParseDuration(cfg.Server.ShutdownTimeout); err != nil {
			t.Fatal(err)
		}
	}
	var preStop time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil || time.Duration(*grace)*time.Second <= preStop+shutdown {
		t.Errorf("terminationGracePeriodSeconds: want more than the preStop pause %s + shutdown_timeout %s", preStop, shutdown)
	}

	rulesCheck(t, buildTokenhook(t), config, environ)
}

// TestKustomizeBuild renders the kustomization with kubectl's built-in
// kustomize, when kubectl is installed, and decodes the result strictly.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		missing(t, "kubectl is not installed: the manifests are still checked one by one above")
	}
	out, err := exec.Command(kubectl, "kustomize", manifestDir).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("kubectl kustomize %s: %v\n%s", manifestDir, err, stderr)
	}
	objs := decodeManifests(t, "kubectl kustomize output", out)
	m := loadManifests(t)
	want := 0
	for _, r := range m.kustomize.Resources {
		want += len(m.files[r])
	}
	if len(objs) != want {
		t.Errorf("kubectl kustomize: %d objects, want %d", len(objs), want)
	}
	img := m.kustomize.Images[0]
	if !bytes.Contains(out, []byte(fmt.Sprintf("image: %s:%s", img.NewName, img.NewTag))) {
		t.Errorf("kubectl kustomize: the image is not rewritten to %s:%s", img.NewName, img.NewTag)
	}
}
