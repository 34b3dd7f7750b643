package bar

const (
	eSymbol = 1 << iota
	eClose
	eOpen
	eLow
	eHigh
	eVolume
	eTimestamp
	eChange
	eIndicator
	eTradingDate
	ePrevClose
	ePrevCloseValue
)

// DecodeEnriched parses one enhanced-topic record (for consumers, the indexer and tests). It accepts the
// reference's nine keys with or without prevClose, tradingDate and the indicator fields (absent means null, and
// false for volumeAlert and outOfSequence).
func DecodeEnriched(data []byte) (Enriched, error) {
	var e Enriched
	var seen int
	s := scanner{data: data}
	if err := s.object(func(key []byte) error { return e.setField(&s, key, &seen) }); err != nil {
		return e, err
	}
	for _, f := range [...]struct {
		bit  int
		name string
	}{{eSymbol, "symbol"}, {eClose, "close"}, {eOpen, "open"}, {eLow, "low"}, {eHigh, "high"}, {eVolume, "volume"}, {eTimestamp, "timestamp"}, {eIndicator, "indicator"}} {
		if seen&f.bit == 0 {
			return e, invalid("%s: missing", f.name)
		}
	}
	if seen&eTradingDate == 0 {
		e.TradingDate = TradingDate(e.Time)
	}
	switch {
	case seen&ePrevClose != 0 && (seen&ePrevCloseValue != 0) != e.HasPrev:
		return e, invalid("prevClose and %%change: one is null and the other is not")
	case seen&ePrevClose == 0 && e.HasPrev:
		e.PrevCloseAbsent = true // the reference's nine keys: a %change, no prevClose
	}
	if err := ValidateSymbol(e.Symbol); err != nil {
		return e, err
	}
	return e, nil
}

func (e *Enriched) setField(s *scanner, key []byte, seen *int) error {
	str := func(name string) (string, error) {
		if s.peek() != '"' {
			if err := s.skipValue(); err != nil {
				return "", invalid("malformed JSON: %v", err)
			}
			return "", invalid("%s: not a string", name)
		}
		v, err := s.readString()
		if err != nil {
			return "", invalid("malformed JSON: %v", err)
		}
		return string(v), nil
	}
	var err error
	switch string(key) {
	case "symbol":
		*seen |= eSymbol
		e.Symbol, err = str("symbol")
	case "close":
		*seen |= eClose
		err = s.readNumber("close", &e.Close, nil)
	case "open":
		*seen |= eOpen
		err = s.readNumber("open", &e.Open, nil)
	case "low":
		*seen |= eLow
		err = s.readNumber("low", &e.Low, nil)
	case "high":
		*seen |= eHigh
		err = s.readNumber("high", &e.High, nil)
	case "volume":
		*seen |= eVolume
		err = s.readNumber("volume", &e.Volume, nil)
	case "timestamp":
		*seen |= eTimestamp
		var v string
		if v, err = str("timestamp"); err == nil {
			if e.Time, err = ParseTimestamp([]byte(v)); err != nil {
				err = invalid("timestamp: %v", err)
			}
		}
	case "%change":
		*seen |= eChange
		err = s.readNumber("%change", &e.Change, &e.HasPrev)
	case "prevClose":
		*seen |= ePrevClose
		var has bool
		if err = s.readNumber("prevClose", &e.PrevClose, &has); has {
			*seen |= ePrevCloseValue
		}
	case "indicator":
		*seen |= eIndicator
		var v string
		if v, err = str("indicator"); err == nil {
			switch ind := Indicator(v); ind {
			case Bullish, Bearish, Neutral, Unknown:
				e.Indicator = ind
			default:
				err = invalid("indicator: unknown value %q", v)
			}
		}
	case "sma20":
		err = s.readNumber("sma20", &e.SMA20, &e.HasSMA20)
	case "sma50":
		err = s.readNumber("sma50", &e.SMA50, &e.HasSMA50)
	case "ema12":
		err = s.readNumber("ema12", &e.EMA12, &e.HasEMA12)
	case "ema26":
		err = s.readNumber("ema26", &e.EMA26, &e.HasEMA26)
	case "rsi14":
		err = s.readNumber("rsi14", &e.RSI14, &e.HasRSI14)
	case "vwapSession":
		err = s.readNumber("vwapSession", &e.VWAPSession, &e.HasVWAPSession)
	case "volumeAlert":
		e.VolumeAlert, err = s.readBool("volumeAlert")
	case "outOfSequence":
		e.OutOfSequence, err = s.readBool("outOfSequence")
	case "maCross":
		if s.peek() == 'n' {
			e.MACross = ""
			if err := s.literal("null"); err != nil {
				return invalid("malformed JSON: %v", err)
			}
			return nil
		}
		var v string
		if v, err = str("maCross"); err == nil {
			switch v {
			case CrossBullish, CrossBearish:
				e.MACross = v
			default:
				err = invalid("maCross: unknown value %q", v)
			}
		}
	case "tradingDate":
		*seen |= eTradingDate
		var v string
		if v, err = str("tradingDate"); err == nil {
			if e.TradingDate, err = ParseDate(v); err != nil {
				err = invalid("tradingDate: %v", err)
			}
		}
	default:
		if err := s.skipValue(); err != nil {
			return invalid("malformed JSON: %v", err)
		}
	}
	return err
}

// readBool reads true or false.
func (s *scanner) readBool(name string) (bool, error) {
	switch s.peek() {
	case 't':
		if err := s.literal("true"); err != nil {
			return false, invalid("malformed JSON: %v", err)
		}
		return true, nil
	case 'f':
		if err := s.literal("false"); err != nil {
			return false, invalid("malformed JSON: %v", err)
		}
		return false, nil
	}
	if err := s.skipValue(); err != nil {
		return false, invalid("malformed JSON: %v", err)
	}
	return false, invalid("%s: not a boolean", name)
}
