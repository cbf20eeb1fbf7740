package manifest

// UnmarshalText parses `yyyyMMdd_HHmm`; empty text is the zero Stamp.
func (s *Stamp) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = Stamp{}
		return nil
	}
	p, err := ParseStamp(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}
