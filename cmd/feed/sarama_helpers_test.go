package main

import (
	"crypto/sha512"
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// These helpers read the local broker with IBM/sarama, a Kafka client independent of franz-go.

// scramClient adapts xdg-go/scram to sarama.
type scramClient struct {
	conv *scram.ClientConversation
}

func (c *scramClient) Begin(user, pass, authzID string) error {
	cl, err := scram.HashGeneratorFcn(sha512.New).NewClient(user, pass, authzID)
	if err != nil {
		return err
	}
	c.conv = cl.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) { return c.conv.Step(challenge) }
func (c *scramClient) Done() bool                            { return c.conv.Done() }

// saramaConfig is an IBM/sarama configuration; an empty user means no SASL. The SASL settings are the ones
// kfake accepts (handshake v1).
func saramaConfig(user, pass string) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "finfeed-e2e-sarama"
	cfg.Metadata.Retry.Max = 1
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	cfg.Net.DialTimeout = 10 * time.Second
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.MaxWaitTime = 50 * time.Millisecond
	cfg.Producer.Return.Successes = true
	cfg.Producer.Retry.Max = 0
	if user != "" {
		cfg.Net.SASL.Enable = true
		cfg.Net.SASL.Handshake = true
		cfg.Net.SASL.Version = sarama.SASLHandshakeV1
		cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		cfg.Net.SASL.User = user
		cfg.Net.SASL.Password = pass
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{} }
	}
	return cfg
}

// message is a record as an independent client saw it.
type message struct {
	key, value string
	headers    map[string]string
	partition  int32
	offset     int64
}

// saramaRead reads topic from the oldest offset with IBM/sarama until want records arrived, then checks the
// topic holds no more than that.
func saramaRead(t *testing.T, addr, user, pass, topic string, want int) []message {
	t.Helper()
	return saramaReadN(t, addr, user, pass, topic, want, true)
}

func saramaReadN(t *testing.T, addr, user, pass, topic string, want int, exact bool) []message {
	t.Helper()
	client, err := sarama.NewClient([]string{addr}, saramaConfig(user, pass))
	if err != nil {
		t.Fatalf("sarama client as %q: %v", user, err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("sarama partitions of %s as %q: %v", topic, user, err)
	}
	msgs := make(chan message, 1024)
	errs := make(chan error, len(parts))
	for _, p := range parts {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("sarama consume %s/%d as %q: %v", topic, p, user, err)
		}
		defer pc.Close()
		go func() {
			for {
				select {
				case m, ok := <-pc.Messages():
					if !ok {
						return
					}
					h := map[string]string{}
					for _, rh := range m.Headers {
						h[string(rh.Key)] = string(rh.Value)
					}
					msgs <- message{key: string(m.Key), value: string(m.Value), headers: h, partition: m.Partition, offset: m.Offset}
				case e, ok := <-pc.Errors():
					if ok {
						errs <- e
					}
					return
				}
			}
		}()
	}
	var got []message
	timeout := time.After(waitLimit)
	for len(got) < want {
		select {
		case m := <-msgs:
			got = append(got, m)
		case err := <-errs:
			t.Fatalf("sarama read of %s: %v", topic, err)
		case <-timeout:
			t.Fatalf("sarama read of %s: got %d records within %v, want %d", topic, len(got), waitLimit, want)
		}
	}
	var total int64
	for _, p := range parts {
		newest, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		total += newest - oldest
	}
	if exact && total != int64(want) {
		t.Errorf("%s holds %d records, want exactly %d", topic, total, want)
	}
	return got
}

// saramaConsumeErr is the error of consuming topic as user with IBM/sarama: nil once a record arrives, the
// refusal otherwise. The topic must hold a record.
func saramaConsumeErr(t *testing.T, addr, user, pass, topic string) error {
	t.Helper()
	c, err := sarama.NewClient([]string{addr}, saramaConfig(user, pass))
	if err != nil {
		t.Fatalf("sarama client as %q: %v", user, err)
	}
	defer c.Close()
	cons, err := sarama.NewConsumerFromClient(c)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	for p := range int32(16) {
		pc, err := cons.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return err
		}
		// a refused fetch is reported on Errors; a partition with a record proves reading is allowed
		select {
		case _, ok := <-pc.Messages():
			pc.Close()
			if ok {
				return nil
			}
		case perr := <-pc.Errors():
			pc.Close()
			return perr.Err
		case <-time.After(2 * time.Second): // an empty partition answers nothing: try the next
			pc.Close()
		}
	}
	return errors.New("no record and no error from the first 16 partitions")
}

func isAuthError(err error) bool {
	return errors.Is(err, sarama.ErrTopicAuthorizationFailed) || errors.Is(err, sarama.ErrClusterAuthorizationFailed)
}

// saramaReadAvailable reads everything topic holds now with IBM/sarama.
func saramaReadAvailable(t *testing.T, addr, user, pass, topic string) []message {
	t.Helper()
	client, err := sarama.NewClient([]string{addr}, saramaConfig(user, pass))
	if err != nil {
		t.Fatalf("sarama client as %q: %v", user, err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range parts {
		newest, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		total += int(newest)
	}
	client.Close()
	return saramaReadN(t, addr, user, pass, topic, total, false)
}
