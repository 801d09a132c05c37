package pycompat

import "math/big"

// Sum adds Decimals one after another exactly as repeated Decimal.Add does (Python's
// sum = sum + x, each partial sum rounded to the context), keeping its partial sum's
// coefficient in storage of its own that every step reuses. The zero Sum is Decimal(0).
type Sum struct {
	d    Decimal // the partial sum, but for a big coefficient (wide is nil then)
	big  bool    // the coefficient is coef, not d.small
	coef big.Int
}

// partial is the partial sum as a Decimal sharing coef: only for reading within a step.
func (s *Sum) partial() Decimal {
	d := s.d
	if s.big {
		d.wide = &s.coef
	}
	return d
}

// Add adds o to the partial sum.
func (s *Sum) Add(o Decimal) {
	d := s.partial()
	exp := min(d.exp, o.exp)
	if d.IsZero() || o.IsZero() {
		s.set(d.Add(o)) // Python rescales instead of adding: Add's own branches
		return
	}
	if r, ok := addSmall(d, o, exp); ok {
		s.set(r)
		return
	}
	sc := scratchPool.Get().(*bigScratch)
	defer scratchPool.Put(sc)
	sum, neg := exactSum(d, o, exp, sc) // reads d's coefficient before coef is reused
	qexp, rounded := roundToPrecisionInto(&s.coef, sum, exp, &sc.c)
	if !rounded {
		s.coef.Set(sum)
	}
	s.d = Decimal{neg: neg, exp: qexp}
	if s.big = !s.coef.IsUint64(); !s.big {
		s.d.small = s.coef.Uint64()
	}
}

// set makes d the partial sum, its big coefficient copied into coef.
func (s *Sum) set(d Decimal) {
	s.big = d.wide != nil
	if s.big {
		s.coef.Set(d.wide)
		d.wide = nil
	}
	s.d = d
}

// Value is the partial sum, as a Decimal of its own (a big coefficient is copied out).
func (s *Sum) Value() Decimal {
	d := s.d
	if s.big {
		d.wide = new(big.Int).Set(&s.coef)
	}
	return d
}
