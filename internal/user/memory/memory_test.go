package memory_test

import (
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/user"
	"github.com/tokenhook/tokenhook/internal/user/memory"
	"github.com/tokenhook/tokenhook/internal/user/usertest"
)

func TestStore(t *testing.T) {
	usertest.Run(t, func(t *testing.T, now func() time.Time) user.Store {
		return memory.New(memory.Config{Now: now})
	})
}
