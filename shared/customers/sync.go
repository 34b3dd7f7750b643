package customers

import (
	"context"
	"errors"
	"fmt"

	"github.com/finfeed/finfeed/shared/provision"
)

// Sync re-asserts every managed customer: its users' ACLs on today's Topics (a topic added to what customers
// read, such as candles, reaches the customers made before it) and the association of any secret MSK no longer
// lists (e.g. after a stack update of the template's own secrets). It changes nothing that is already right and
// returns what it re-associated.
func (m *Manager) Sync(ctx context.Context) ([]User, error) {
	all, err := m.List(ctx)
	if err != nil {
		return nil, err
	}
	var fixed []User
	var errs []error
	for _, c := range all {
		if c.Template {
			continue
		}
		if err := provision.Grant(ctx, m.Admin, c.Principal().ACLs(m.Topics)); err != nil {
			errs = append(errs, fmt.Errorf("customer %q: %w", c.Name, err))
			continue
		}
		for _, u := range c.Users {
			if u.Associated {
				continue
			}
			if err := m.associate(ctx, u.SecretArn); err != nil {
				errs = append(errs, fmt.Errorf("customer %q: %w", c.Name, err))
				continue
			}
			u.Associated = true
			fixed = append(fixed, u)
		}
	}
	return fixed, errors.Join(errs...)
}
