package circle

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// pagedList serves items 1..total in pages of size, counting fetches.
type pagedList struct {
	total, size int
	fetches     []int
	lie         func(page int) Page[int] // when set, answers instead
}

func (l *pagedList) fetch(_ context.Context, page int) (Page[int], error) {
	l.fetches = append(l.fetches, page)
	if l.lie != nil {
		return l.lie(page), nil
	}
	var recs []int
	for i := (page-1)*l.size + 1; i <= min(page*l.size, l.total); i++ {
		recs = append(recs, i)
	}
	return Page[int]{Records: recs, Number: page, HasNext: page*l.size < l.total}, nil
}

func collect(t *testing.T, seq func(func(int, error) bool)) ([]int, error) {
	t.Helper()
	var got []int
	for v, err := range seq {
		if err != nil {
			return got, err
		}
		got = append(got, v)
	}
	return got, nil
}

func TestPagesRangesOverEveryPage(t *testing.T) {
	t.Parallel()
	l := &pagedList{total: 7, size: 3}
	got, err := collect(t, Pages(t.Context(), 1, l.fetch))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int{1, 2, 3, 4, 5, 6, 7}) || !slices.Equal(l.fetches, []int{1, 2, 3}) {
		t.Errorf("items %v, fetches %v", got, l.fetches)
	}
	// From a later page; first < 1 means 1.
	l = &pagedList{total: 7, size: 3}
	got, _ = collect(t, Pages(t.Context(), 2, l.fetch))
	if !slices.Equal(got, []int{4, 5, 6, 7}) {
		t.Errorf("from page 2: %v", got)
	}
	l = &pagedList{total: 2, size: 3}
	got, _ = collect(t, Pages(t.Context(), -5, l.fetch))
	if !slices.Equal(got, []int{1, 2}) || !slices.Equal(l.fetches, []int{1}) {
		t.Errorf("from page -5: %v, fetches %v", got, l.fetches)
	}
}

func TestPagesIsLazyAndStopsOnBreak(t *testing.T) {
	t.Parallel()
	l := &pagedList{total: 100, size: 10}
	seq := Pages(t.Context(), 1, l.fetch)
	if len(l.fetches) != 0 {
		t.Fatal("Pages fetched before the loop")
	}
	n := 0
	for _, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 12 {
			break
		}
	}
	if !slices.Equal(l.fetches, []int{1, 2}) {
		t.Errorf("fetches %v after breaking at item 12, want [1 2]", l.fetches)
	}
}

func TestPagesStopsOnErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	calls := 0
	seq := Pages(t.Context(), 1, func(_ context.Context, page int) (Page[string], error) {
		calls++
		if page == 2 {
			return Page[string]{}, boom
		}
		return Page[string]{Records: []string{"a"}, Number: page, HasNext: true}, nil
	})
	var items []string
	var errs []error
	for v, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue // the sequence must end anyway
		}
		items = append(items, v)
	}
	if !slices.Equal(items, []string{"a"}) || len(errs) != 1 || !errors.Is(errs[0], boom) || calls != 2 {
		t.Errorf("items %v, errors %v, calls %d", items, errs, calls)
	}
}

func TestPagesStopsWhenTheListDoesNotAdvance(t *testing.T) {
	t.Parallel()
	l := &pagedList{lie: func(int) Page[int] { return Page[int]{Records: []int{1}, Number: 1, HasNext: true} }}
	got, err := collect(t, Pages(t.Context(), 1, l.fetch))
	if err == nil || !strings.Contains(err.Error(), "not advancing") || !slices.Equal(got, []int{1}) {
		t.Errorf("items %v, err %v; want [1] and a not-advancing error", got, err)
	}
	// An empty page ends the list even if it claims a next one.
	l = &pagedList{lie: func(p int) Page[int] { return Page[int]{Number: p, HasNext: true} }}
	if got, err := collect(t, Pages(t.Context(), 1, l.fetch)); err != nil || len(got) != 0 || len(l.fetches) != 1 {
		t.Errorf("empty page: %v, %v, fetches %v", got, err, l.fetches)
	}
	// A page that reports no number but says a next one follows cannot be
	// followed: its records come, then an error naming it.
	l = &pagedList{lie: func(p int) Page[int] { return Page[int]{Records: []int{p}, HasNext: p < 3} }}
	got, err = collect(t, Pages(t.Context(), 1, l.fetch))
	if err == nil || !strings.Contains(err.Error(), "page 1 reports no page number") || !slices.Equal(got, []int{1}) || len(l.fetches) != 1 {
		t.Errorf("unnumbered pages: %v, %v, fetches %v; want [1], an error naming page 1, one fetch", got, err, l.fetches)
	}
	// The last page may report no number.
	l = &pagedList{lie: func(p int) Page[int] { return Page[int]{Records: []int{p}, Number: p % 2, HasNext: p < 2} }}
	if got, err := collect(t, Pages(t.Context(), 1, l.fetch)); err != nil || !slices.Equal(got, []int{1, 2}) {
		t.Errorf("unnumbered last page: %v, %v", got, err)
	}
	// A page holding the same records as the one before, with a next one
	// to follow, ends the list before its records.
	l = &pagedList{lie: func(p int) Page[int] { return Page[int]{Records: []int{7, 8}, Number: p, HasNext: true} }}
	got, err = collect(t, Pages(t.Context(), 3, l.fetch))
	if err == nil || !strings.Contains(err.Error(), "page 4 holds the same records as page 3") || !slices.Equal(got, []int{7, 8}) || len(l.fetches) != 2 {
		t.Errorf("repeated page: %v, %v, fetches %v; want [7 8], an error naming page 4, two fetches", got, err, l.fetches)
	}
	// Pages that differ, even in one record, are followed.
	l = &pagedList{lie: func(p int) Page[int] { return Page[int]{Records: []int{7, p}, Number: p, HasNext: p < 4} }}
	if got, err := collect(t, Pages(t.Context(), 1, l.fetch)); err != nil || !slices.Equal(got, []int{7, 1, 7, 2, 7, 3, 7, 4}) {
		t.Errorf("pages differing in one record: %v, %v", got, err)
	}
	// The last page may repeat the one before: it is not followed anyway.
	l = &pagedList{lie: func(p int) Page[int] { return Page[int]{Records: []int{7}, Number: p, HasNext: p < 2} }}
	if got, err := collect(t, Pages(t.Context(), 1, l.fetch)); err != nil || !slices.Equal(got, []int{7, 7}) {
		t.Errorf("last page repeating: %v, %v", got, err)
	}
	// Records that do not encode as JSON are not compared.
	calls := 0
	seq := Pages(t.Context(), 1, func(_ context.Context, p int) (Page[func()], error) {
		calls++
		return Page[func()]{Records: []func(){nil}, Number: p, HasNext: p < 3}, nil
	})
	n := 0
	for _, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 || calls != 3 {
		t.Errorf("records that do not encode: %d records, %d calls; want 3, 3", n, calls)
	}
}

func TestPageOf(t *testing.T) {
	t.Parallel()
	recs, n, more := []string{"x"}, 4, true
	if p := PageOf(&recs, &n, &more); !slices.Equal(p.Records, recs) || p.Number != 4 || !p.HasNext {
		t.Errorf("PageOf = %+v", p)
	}
	if p := PageOf[string](nil, nil, nil); p.Records != nil || p.Number != 0 || p.HasNext {
		t.Errorf("PageOf(nil...) = %+v", p)
	}
}
