package broker

import (
	"fmt"
	"net"
	"strconv"
)

// listener is where the broker listens and the host it advertises.
type listener struct {
	host      string // to listen on; a wildcard listens on every interface
	port      int    // 0 picks a free one
	advertise string
}

// parseListen checks addr (HOST:PORT to listen on) and advertise (the host clients are told, default addr's).
func parseListen(addr, advertise string) (listener, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return listener{}, fmt.Errorf("kafka listen address %q: want HOST:PORT: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return listener{}, fmt.Errorf("kafka listen address %q: bad port", addr)
	}
	if host == "" {
		return listener{}, fmt.Errorf("kafka listen address %q: name a host (127.0.0.1, or 0.0.0.0 for every interface)", addr)
	}
	l := listener{host: host, port: port, advertise: advertise}
	if l.advertise == "" {
		if wildcard(host) {
			return listener{}, fmt.Errorf("kafka listen address %q listens on every interface: say which host clients connect to (advertise)", addr)
		}
		l.advertise = host
	}
	if _, _, err := net.SplitHostPort(l.advertise); err == nil {
		return listener{}, fmt.Errorf("kafka advertised host %q: a host only, the port is the listen port", l.advertise)
	}
	return l, nil
}

func wildcard(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// dialHost is where this process reaches the listener.
func (l listener) dialHost() string {
	if wildcard(l.host) {
		if net.ParseIP(l.host).To4() == nil {
			return "::1"
		}
		return "127.0.0.1"
	}
	return l.host
}

// listen is kfake's ListenFn: kfake asks for 127.0.0.1:PORT; this listens on the configured host instead and
// reports the advertised host, which kfake puts in every metadata answer.
func (l listener) listen(network, address string) (net.Listener, error) {
	_, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("kafka listen address %q: %w", address, err)
	}
	ln, err := net.Listen(network, net.JoinHostPort(l.host, port))
	if err != nil {
		return nil, err
	}
	return advertised{Listener: ln, host: l.advertise}, nil
}

// advertised is a listener whose Addr names the advertised host (with the port really bound).
type advertised struct {
	net.Listener
	host string
}

func (a advertised) Addr() net.Addr {
	addr := a.Listener.Addr()
	_, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr
	}
	return advertisedAddr{network: addr.Network(), hostport: net.JoinHostPort(a.host, port)}
}

type advertisedAddr struct{ network, hostport string }

func (a advertisedAddr) Network() string { return a.network }
func (a advertisedAddr) String() string  { return a.hostport }
