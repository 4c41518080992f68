package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nnsweep/nnsweep/pipeline"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// readStrict decodes the YAML file at path into v, rejecting unknown and duplicate fields: a
// field misspelt or moved in the Kubernetes API fails here rather than in a cluster.
func readStrict(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// parseRun parses a command line of nnsweep (without the program name) as the CLI would and
// returns the run command, checking that it is `nnsweep run SPEC [flags]`: its spec, its --out,
// whether a flag was given, and a string flag's value.
func parseRun(t *testing.T, where string, args []string) (spec, out string, changed func(string) bool, value func(string) string) {
	t.Helper()
	cmd, rest, err := newRootCommand().Find(args)
	if err != nil || cmd.Name() != "run" {
		t.Fatalf("%s: %q is not an nnsweep run command: %v", where, args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("%s: %q: %v", where, args, err)
	}
	if n := cmd.Flags().NArg(); n != 1 {
		t.Fatalf("%s: %q gives run %d files, want 1 spec", where, args, n)
	}
	value = func(name string) string { v, _ := cmd.Flags().GetString(name); return v }
	return cmd.Flags().Arg(0), value("out"), cmd.Flags().Changed, value
}

// dockerfile is what the tests read from deploy/kubernetes/Dockerfile or another Containerfile:
// its instructions without comments and blank lines, and its ENTRYPOINT.
type dockerfile struct {
	lines      []string
	entrypoint []string
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	return readContainerfile(t, "deploy/kubernetes/Dockerfile")
}

func readContainerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			d.lines = append(d.lines, l)
		}
		if e, ok := strings.CutPrefix(l, "ENTRYPOINT "); ok {
			if err := json.Unmarshal([]byte(e), &d.entrypoint); err != nil {
				t.Fatalf("%s: ENTRYPOINT %s: %v", path, e, err)
			}
		}
	}
	return d
}

// The Dockerfile builds with the README's command and the go.mod's Go version, without cgo, and
// puts the binary where the Job runs it on a small static image.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	d := readDockerfile(t)
	gomod, _ := os.ReadFile("go.mod")
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	readme, _ := os.ReadFile("README.md")
	const build = "go build -o nnsweep ."
	if !strings.Contains(string(readme), "`"+build+"`") {
		t.Fatalf("the README no longer says `%s`: update the Dockerfile's build step and this test with it", build)
	}
	want := []string{
		"FROM golang:" + string(goVersion[1]) + " AS build",
		"ENV CGO_ENABLED=0",
		"RUN " + build,
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"COPY --from=build /src/nnsweep /usr/local/bin/nnsweep",
		"COPY examples/ /specs/",
	}
	last := -1
	for _, w := range want {
		i := slices.Index(d.lines, w)
		if i < 0 || i < last {
			t.Fatalf("Dockerfile lacks %q after the line before it in %q", w, want)
		}
		last = i
	}
	if !slices.Equal(d.entrypoint, []string{"/usr/local/bin/nnsweep"}) {
		t.Errorf("ENTRYPOINT %q, want the binary the build stage copies", d.entrypoint)
	}
}

// Containerfile.scratch, the image deploy/kubernetes/test-image builds where no registry can be
// reached, is the Dockerfile's final stage on an empty base: the binary and the specs in the same
// places, the same entrypoint and command, and distroless's nonroot user by number (65532), the
// user the Job runs as.
func TestContainerfileScratch(t *testing.T) {
	t.Parallel()
	d := readDockerfile(t)
	final := d.lines
	for i, l := range d.lines {
		if strings.HasPrefix(l, "FROM ") {
			final = d.lines[i:]
		}
	}
	var want []string
	for _, l := range final {
		switch l {
		case "FROM gcr.io/distroless/static-debian12:nonroot":
			l = "FROM scratch"
		case "COPY --from=build /src/nnsweep /usr/local/bin/nnsweep":
			l = "COPY nnsweep /usr/local/bin/nnsweep"
		case "USER nonroot:nonroot":
			l = "USER 65532:65532"
		}
		want = append(want, l)
	}
	s := readContainerfile(t, "deploy/kubernetes/Containerfile.scratch")
	if !slices.Equal(s.lines, want) {
		t.Errorf("Containerfile.scratch:\n%s\nwant the Dockerfile's final stage on scratch:\n%s", strings.Join(s.lines, "\n"), strings.Join(want, "\n"))
	}
	var job batchv1.Job
	readStrict(t, "deploy/kubernetes/job.yaml", &job)
	if sc := job.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
		t.Errorf("job.yaml's pods do not run as 65532, the image's user")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		return
	}
	if out, err := exec.Command("bash", "-n", "deploy/kubernetes/test-image").CombinedOutput(); err != nil {
		t.Errorf("bash -n deploy/kubernetes/test-image: %v\n%s", err, out)
	}
}

// The Job is an Indexed Job whose pods run `nnsweep run` on a spec of the image into the mounted
// claim, with NNSWEEP_SHARDS equal to its completions.
func TestKubernetesJob(t *testing.T) {
	t.Parallel()
	var job batchv1.Job
	readStrict(t, "deploy/kubernetes/job.yaml", &job)
	var pvc corev1.PersistentVolumeClaim
	readStrict(t, "deploy/kubernetes/pvc.yaml", &pvc)
	if job.APIVersion != "batch/v1" || job.Kind != "Job" || pvc.APIVersion != "v1" || pvc.Kind != "PersistentVolumeClaim" {
		t.Fatalf("kinds: %s %s, %s %s", job.APIVersion, job.Kind, pvc.APIVersion, pvc.Kind)
	}
	s := job.Spec
	checkIndexedJob(t, s)
	c := s.Template.Spec.Containers[0]
	out := checkJobContainer(t, s, c)
	var claim string
	for _, m := range c.VolumeMounts {
		if m.MountPath != out {
			continue
		}
		for _, v := range s.Template.Spec.Volumes {
			if v.Name == m.Name && v.PersistentVolumeClaim != nil {
				claim = v.PersistentVolumeClaim.ClaimName
			}
		}
	}
	if claim == "" || claim != pvc.Name {
		t.Errorf("--out %s is not the mount path of a volume of claim %s (found %q)", out, pvc.Name, claim)
	}
	if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
		t.Errorf("claim access modes %v: pods on several nodes need ReadWriteMany", pvc.Spec.AccessModes)
	}
	// The report Job mounts the same folder of the same claim and merges it.
	var merge batchv1.Job
	readStrict(t, "deploy/kubernetes/report-job.yaml", &merge)
	mc := merge.Spec.Template.Spec.Containers
	if len(mc) != 1 || !slices.Equal(mc[0].Command, c.Command) || mc[0].Image != c.Image || !slices.Equal(mc[0].Args, []string{"report", out}) {
		t.Fatalf("report-job.yaml's container: %+v; want %q %q report %s", mc, c.Image, c.Command, out)
	}
	if cmd, _, err := newRootCommand().Find(mc[0].Args); err != nil || cmd.Name() != "report" {
		t.Errorf("report-job.yaml: %q is not nnsweep report: %v", mc[0].Args, err)
	}
	if !reflect.DeepEqual(mc[0].VolumeMounts, c.VolumeMounts) || !reflect.DeepEqual(merge.Spec.Template.Spec.Volumes, s.Template.Spec.Volumes) {
		t.Errorf("report-job.yaml mounts another folder than job.yaml")
	}
	if p := s.PodFailurePolicy; p != nil {
		for _, r := range p.Rules {
			if r.OnExitCodes != nil && !slices.Equal(r.OnExitCodes.Values, []int32{pipeline.ExitUsage, pipeline.ExitInvalid}) {
				t.Errorf("podFailurePolicy exit codes %v, want nnsweep's usage and invalid-spec codes", r.OnExitCodes.Values)
			}
		}
	}
}

// checkIndexedJob checks that the Job is an Indexed Job of one container whose failed pods are
// not restarted in place.
func checkIndexedJob(t *testing.T, s batchv1.JobSpec) {
	t.Helper()
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Fatal("the Job is not completionMode: Indexed, so its pods get no JOB_COMPLETION_INDEX")
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Parallelism < 1 || *s.Parallelism > *s.Completions {
		t.Fatalf("completions %v, parallelism %v: want 1 ≤ parallelism ≤ completions", s.Completions, s.Parallelism)
	}
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %s: backoffLimitPerIndex and podFailurePolicy need Never", s.Template.Spec.RestartPolicy)
	}
	if len(s.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(s.Template.Spec.Containers))
	}
}

// checkJobContainer checks the container's environment, command and arguments (a spec of
// examples/ run without --shard); it returns the folder the arguments write to.
func checkJobContainer(t *testing.T, s batchv1.JobSpec, c corev1.Container) string {
	t.Helper()
	var shards []string
	for _, e := range c.Env {
		if e.Name == pipeline.EnvShards {
			shards = append(shards, e.Value)
		}
		if e.Name == pipeline.EnvJobIndex {
			t.Errorf("the Job sets %s itself; Kubernetes sets it in every pod", e.Name)
		}
	}
	if want := strconv.Itoa(int(*s.Completions)); len(shards) != 1 || shards[0] != want {
		t.Errorf("env %s = %q, want %q (the Job's completions)", pipeline.EnvShards, shards, want)
	}
	if d := readDockerfile(t); !slices.Equal(c.Command, d.entrypoint) {
		t.Errorf("command %q, want the image's binary %q", c.Command, d.entrypoint)
	}
	spec, out, changed, _ := parseRun(t, "job.yaml", c.Args)
	if changed("shard") {
		t.Error("the Job passes --shard; every pod must take its shard from the environment")
	}
	local, ok := strings.CutPrefix(spec, "/specs/")
	if !ok {
		t.Fatalf("spec %s is not in /specs, where the Dockerfile copies examples/", spec)
	}
	if _, err := pipeline.Load(filepath.Join("examples", local)); err != nil {
		t.Errorf("the Job's spec examples/%s: %v", local, err)
	}
	return out
}

// The sbatch script is valid bash, declares an array, and runs `nnsweep run` with Slurm's array
// variables passed through, from which nnsweep takes its shard. A one-task array, as when one
// index is resubmitted, must name its shard: without --shard nnsweep would train the whole sweep.
func TestSlurmScript(t *testing.T) {
	t.Parallel()
	const script = "deploy/slurm/nnsweep.sbatch"
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n %s: %v\n%s", script, err, out)
	}
	src, _ := os.ReadFile(script)
	if !regexp.MustCompile(`(?m)^#SBATCH --array=\d+-\d+`).Match(src) {
		t.Fatalf("%s has no #SBATCH --array=A-B line", script)
	}
	// A stand-in for the binary writes its arguments and environment, one per line.
	dir := t.TempDir()
	fake := filepath.Join(dir, "nnsweep")
	os.WriteFile(fake, []byte("#!/bin/bash\nprintf '%s\\n' \"$@\" > \"$0.args\"\nenv > \"$0.env\"\n"), 0o755)
	// A folder that three shards wrote into, with the manifest as nnsweep encodes it.
	split := t.TempDir()
	mf, _ := json.MarshalIndent(pipeline.Manifest{Spec: "shards", Shards: 3, Models: []pipeline.ManifestModel{}}, "", "  ")
	os.WriteFile(filepath.Join(split, pipeline.ManifestFile), mf, 0o644)
	oneTask := []string{"SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=1", "SLURM_ARRAY_TASK_COUNT=1"}
	tests := []struct {
		name     string
		args     []string
		spec     string
		out      string
		extra    string // a flag after the script's own
		shard    pipeline.Shard
		slurmEnv []string
		refused  string // what the script says when it refuses to run nnsweep (exit 2)
	}{
		{"defaults", nil, "examples/mnist-cnn2.yaml", "runs/mnist-cnn2", "", pipeline.Shard{Index: 3, Count: 8, Source: pipeline.EnvSlurmTaskID},
			[]string{"SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_MAX=7", "SLURM_ARRAY_TASK_COUNT=8"}, ""},
		{"spec, folder and flags", []string{"examples/mnist-compare.yaml", "/scratch/compare", "--epochs", "2"}, "examples/mnist-compare.yaml", "/scratch/compare", "epochs",
			pipeline.Shard{Index: 0, Count: 4, Source: pipeline.EnvSlurmTaskID},
			[]string{"SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=4", "SLURM_ARRAY_TASK_COUNT=4"}, ""},
		{"one index resubmitted with its shard", []string{"testdata/shards.yaml", split, "--epochs", "2", "--shard", "1/3"}, "testdata/shards.yaml", split, "epochs",
			pipeline.Shard{Index: 1, Count: 3, Source: "--shard"}, oneTask, ""},
		{"one index resubmitted with --shard=", []string{"testdata/shards.yaml", split, "--shard=1/3"}, "testdata/shards.yaml", split, "",
			pipeline.Shard{Index: 1, Count: 3, Source: "--shard"}, oneTask, ""},
		{"one index resubmitted without its shard", []string{"testdata/shards.yaml", split, "--epochs", "2"}, "", "", "", pipeline.Shard{}, oneTask,
			"nnsweep.sbatch: this array has one task (SLURM_ARRAY_TASK_ID=1), so nnsweep would train the whole sweep, which " + split + "/manifest.json splits into 3 shards.\n" +
				"  To run task I of an array of N again, name its shard: sbatch --array=I deploy/slurm/nnsweep.sbatch testdata/shards.yaml " + split + " [the same flags] --shard I/N\n" +
				"  (or scontrol requeue JOBID_I); to train the whole sweep in one task, pass --shard 0/1.\n"},
		{"one-task array without a folder yet", []string{"testdata/shards.yaml", filepath.Join(dir, "new")}, "", "", "", pipeline.Shard{},
			[]string{"SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_MAX=0", "SLURM_ARRAY_TASK_COUNT=1"},
			"nnsweep.sbatch: this array has one task (SLURM_ARRAY_TASK_ID=0), so nnsweep would train the whole sweep.\n"},
		{"whole sweep in a one-task array", []string{"testdata/shards.yaml", filepath.Join(dir, "new"), "--shard", "0/1"}, "testdata/shards.yaml", filepath.Join(dir, "new"), "",
			pipeline.Shard{Index: 0, Count: 1, Source: "--shard"}, []string{"SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_MAX=0", "SLURM_ARRAY_TASK_COUNT=1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the stand-in writes fixed files.
			os.Remove(fake + ".args")
			os.Remove(fake + ".env")
			cmd := exec.Command("bash", append([]string{script}, tt.args...)...)
			cmd.Env = append(os.Environ(), append(tt.slurmEnv, "NNSWEEP="+fake, "SLURM_CPUS_PER_TASK=4")...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			if tt.refused != "" {
				_, ran := os.Stat(fake + ".args")
				if cmd.ProcessState.ExitCode() != pipeline.ExitUsage || ran == nil || !strings.HasPrefix(stderr.String(), tt.refused) {
					t.Fatalf("%s: %v, ran nnsweep: %v, stderr:\n%s\nwant exit %d without running nnsweep, and stderr beginning\n%s",
						script, err, ran == nil, stderr.String(), pipeline.ExitUsage, tt.refused)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v\n%s", script, err, stderr.String())
			}
			argv, _ := os.ReadFile(fake + ".args")
			args := strings.Split(strings.TrimSuffix(string(argv), "\n"), "\n")
			spec, out, changed, value := parseRun(t, script, args)
			if spec != tt.spec || out != tt.out || (tt.extra != "" && !changed(tt.extra)) {
				t.Errorf("args %q: spec %s, out %s; want %s, %s and --%s", args, spec, out, tt.spec, tt.out, tt.extra)
			}
			if _, err := os.Stat(spec); err != nil {
				t.Error(err)
			}
			envText, _ := os.ReadFile(fake + ".env")
			env := map[string]string{}
			for _, l := range strings.Split(string(envText), "\n") {
				if k, v, ok := strings.Cut(l, "="); ok {
					env[k] = v
				}
			}
			sh, err := pipeline.ResolveShard(value("shard"), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err != nil || sh != tt.shard || env["GOMAXPROCS"] != "4" {
				t.Errorf("the binary's environment gives shard %+v, %v and GOMAXPROCS %q; want %+v and 4", sh, err, env["GOMAXPROCS"], tt.shard)
			}
		})
	}
}

// deploy/slurm/test-local, which runs the sbatch script on a real one-node Slurm cluster (root and
// Debian's Slurm packages needed, so it is not part of go test), is valid bash, and its spec splits
// as it expects with the flags of both its arrays: 6 points on 3 shards, shard 1, the task it
// cancels in its second point, holding 2.
func TestSlurmLocalScript(t *testing.T) {
	t.Parallel()
	const script, spec = "deploy/slurm/test-local", "deploy/slurm/test-local.yaml"
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n %s: %v\n%s", script, err, out)
	}
	src, _ := os.ReadFile(script)
	for _, flags := range [][]string{{"--limit-train", "5000"}, {"--limit-train", "30000", "--epochs", "30"}} {
		if !strings.Contains(string(src), "=("+strings.Join(flags, " ")+")") {
			t.Errorf("%s no longer runs an array with %q: update this test", script, flags)
		}
		stdout, stderr, code := cli(t, append([]string{"plan", spec, "--shards", "3", "--format", "json"}, flags...)...)
		var plan struct {
			Points []struct{ Shard int }
		}
		if err := json.Unmarshal([]byte(stdout), &plan); code != 0 || err != nil {
			t.Fatalf("plan %s %q: exit %d, %v\n%s", spec, flags, code, err, stderr)
		}
		held := make([]int, 3)
		for _, p := range plan.Points {
			held[p.Shard]++
		}
		if len(plan.Points) != 6 || held[1] != 2 {
			t.Errorf("plan %s %q: %d points, held by the shards %v; the script wants 6 points, 2 of them in shard 1", spec, flags, len(plan.Points), held)
		}
	}
}
