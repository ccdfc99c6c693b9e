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
	// A page that reports no number is taken as the one asked for.
	l = &pagedList{lie: func(p int) Page[int] { return Page[int]{Records: []int{p}, HasNext: p < 3} }}
	if got, err := collect(t, Pages(t.Context(), 1, l.fetch)); err != nil || !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("unnumbered pages: %v, %v", got, err)
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
