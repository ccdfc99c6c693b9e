package circle

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"iter"
)

// Page is one page of a page-based list operation of the Member API, as
// the function given to [Pages] returns it.
type Page[T any] struct {
	// Records are the page's items.
	Records []T
	// Number is the page number the response reports (its "page"), or 0 if
	// it reports none. A page that says a next one follows must report its
	// number: otherwise [Pages] cannot tell that the list advances, and
	// stops after it with an error.
	Number int
	// HasNext is the response's "has_next_page".
	HasNext bool
}

// PageOf makes a [Page] from pointers to the fields of a pagination
// envelope (records, page, has_next_page); nil pointers read as empty,
// zero and false. A nil page therefore gives Number 0, which [Pages]
// accepts only on the last page (HasNext false).
//
// Deprecated: the generated envelopes hold values now; build the Page
// with a composite literal, Page[T]{Records: r.Records, Number: r.Page,
// HasNext: r.HasNextPage}, as the List…All iterators do.
func PageOf[T any](records *[]T, page *int, hasNext *bool) Page[T] {
	return Page[T]{Records: deref(records), Number: deref(page), HasNext: deref(hasNext)}
}

// PageFunc fetches page number page (counting from 1) of a list.
type PageFunc[T any] func(ctx context.Context, page int) (Page[T], error)

// Pages ranges over every item of a page-based list, from page first (1 if
// first < 1) to the last page, fetching each page only when the loop
// reaches it and no page after the loop breaks:
//
//	for b, err := range circle.Pages(ctx, 1, fetchBookmarks) {
//		if err != nil {
//			return err
//		}
//		use(b)
//	}
//
// It stops after a page whose HasNext is false or which has no records. A
// fetch error is yielded once, with the zero T, and ends the sequence.
//
// A list that says it has a next page but does not advance would be
// followed forever, so each of these ends the sequence too, with an error
// naming the page:
//
//   - a page whose Number is not the number asked for: the error comes
//     instead of its records;
//   - a page that says a next one follows but reports no Number (0): its
//     records are yielded, then the error, since following it is unsafe;
//   - a page that holds the very same records as the page before it
//     (compared by a hash of their JSON encoding) while saying a next one
//     follows: the error comes instead of its records.
func Pages[T any](ctx context.Context, first int, fetch PageFunc[T]) iter.Seq2[T, error] {
	return pages(ctx, "", first, fetch)
}

// pages is [Pages]; op, when not empty, names the list operation in its
// errors.
func pages[T any](ctx context.Context, op string, first int, fetch PageFunc[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		var h maphash.Hash // one seed for the whole list
		var prev uint64
		prevOK := false
		stuck := func(format string, args ...any) error {
			prefix := "circle: "
			if op != "" {
				prefix += op + ": "
			}
			return fmt.Errorf(prefix+format+": the list is not advancing", args...)
		}
		for n := max(first, 1); ; n++ {
			p, err := fetch(ctx, n)
			if err != nil {
				yield(zero, err)
				return
			}
			if p.Number != 0 && p.Number != n {
				yield(zero, stuck("asked for page %d, got page %d", n, p.Number))
				return
			}
			more := p.HasNext && len(p.Records) > 0
			if more {
				sum, ok := fingerprint(&h, p.Records)
				if ok && prevOK && sum == prev {
					yield(zero, stuck("page %d holds the same records as page %d and says a next page follows", n, n-1))
					return
				}
				prev, prevOK = sum, ok
			}
			for _, r := range p.Records {
				if !yield(r, nil) {
					return
				}
			}
			if !more {
				return
			}
			if p.Number == 0 {
				yield(zero, stuck("page %d reports no page number yet says a next page follows", n))
				return
			}
			if n == int(^uint(0)>>1) {
				yield(zero, stuck("page %d is the last page number there can be, yet says a next page follows", n))
				return
			}
		}
	}
}

// fingerprint returns a hash of the JSON encoding of records, and false if
// they do not encode.
func fingerprint[T any](h *maphash.Hash, records []T) (uint64, bool) {
	h.Reset()
	if err := json.NewEncoder(h).Encode(records); err != nil {
		return 0, false
	}
	return h.Sum64(), true
}
