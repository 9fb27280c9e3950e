package preview

import (
	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/oktaemu"
)

// BuildRequest builds the request the emulator configured by the YAML file
// configPath would send for the mint spec describes: the same builder
// `tokenhook emulate` uses. lookupEnv expands ${NAME} in the file's
// secrets (nil: no environment).
func BuildRequest(configPath string, spec oktaemu.PreviewSpec, lookupEnv func(string) (string, bool)) (*inlinehook.TokenRequest, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	cfg, err := oktaemu.LoadConfigEnv(configPath, lookupEnv)
	if err != nil {
		return nil, err
	}
	return oktaemu.BuildPreviewRequest(cfg, spec)
}
