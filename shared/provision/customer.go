package provision

import (
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Customer is one customer's principals: the SCRAM users that log in for it (two while a password rotation is
// open) and the consumer groups they may use. The template's customers and those `feed customers` manages get
// their ACLs from here alike.
type Customer struct {
	Name string
	// Users are the SCRAM users acting for the customer (Name when empty).
	Users []string
	// GroupPrefix, when set, lets the users consume with every group whose name starts with it (a PREFIXED group
	// ACL), so one customer can run several independent consumers; when empty they may use only the group
	// named Name.
	GroupPrefix string
}

// ErrGroupPrefix means a group prefix could reach groups that are not the customer's own.
var ErrGroupPrefix = errors.New("group prefix must be the customer's name followed by a dot")

// ValidateGroupPrefix accepts "" or a prefix that starts with name + "." (acme. or acme.risk.), so a customer's
// groups can never include a service's group (finfeed-...) or another customer's plain group name.
func ValidateGroupPrefix(name, prefix string) error {
	if prefix == "" {
		return nil
	}
	if !strings.HasPrefix(prefix, name+".") || !userName.MatchString(prefix) {
		return fmt.Errorf("customer %q, group prefix %q: %w (e.g. %s.)", name, prefix, ErrGroupPrefix, name)
	}
	return nil
}

// ValidateCustomerName accepts a name MSK takes as a SCRAM user and that Settings.Validate would accept.
func ValidateCustomerName(name string) error {
	if !userName.MatchString(name) {
		return fmt.Errorf("customer %q: not a valid SCRAM user name (1-128 of A-Z a-z 0-9 _ . @ -)", name)
	}
	d := DefaultSettings()
	d.Customers = []string{name}
	return d.Validate()
}

// ACLs are the customer's allow rules on topics: each user may Read and Describe every topic, and Read its
// group (literal Name, or PREFIXED GroupPrefix). Nothing else: no write, no other topic, no cluster right.
func (c Customer) ACLs(topics []string) []ACL {
	users := c.Users
	if len(users) == 0 {
		users = []string{c.Name}
	}
	var out []ACL
	for _, u := range users {
		p := "User:" + u
		for _, t := range topics {
			out = append(out,
				ACL{Principal: p, Resource: kmsg.ACLResourceTypeTopic, Name: t, Operation: kmsg.ACLOperationRead},
				ACL{Principal: p, Resource: kmsg.ACLResourceTypeTopic, Name: t, Operation: kmsg.ACLOperationDescribe})
		}
		if c.GroupPrefix != "" {
			out = append(out, ACL{Principal: p, Resource: kmsg.ACLResourceTypeGroup, Name: c.GroupPrefix, Operation: kmsg.ACLOperationRead, Prefixed: true})
		} else {
			out = append(out, ACL{Principal: p, Resource: kmsg.ACLResourceTypeGroup, Name: c.Name, Operation: kmsg.ACLOperationRead})
		}
	}
	return out
}

// CustomerTopics are the topics a customer reads: the enriched bars and, when the spec has it, the candles.
func (s Spec) CustomerTopics() []string {
	if s.CandlesTopic == "" {
		return []string{s.CustomerTopic}
	}
	return []string{s.CustomerTopic, s.CandlesTopic}
}
