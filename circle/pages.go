package circle

import (
	"context"
	"fmt"
	"iter"
)

// Page is one page of a page-based list operation of the Member API, as
// the function given to [Pages] returns it.
type Page[T any] struct {
	// Records are the page's items.
	Records []T
	// Number is the page number the answer reports (its "page"), or 0 if
	// it reports none, in which case the number asked for is assumed.
	Number int
	// HasNext is the answer's "has_next_page".
	HasNext bool
}

// PageOf makes a [Page] from the pointer fields of a generated pagination
// envelope (records, page, has_next_page); nil pointers read as empty,
// zero and false.
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
// fetch error is yielded once, with the zero T, and ends the sequence; so
// does a page whose Number is not the number asked for (the list is not
// advancing), with an error saying so.
func Pages[T any](ctx context.Context, first int, fetch PageFunc[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		for n := max(first, 1); ; n++ {
			p, err := fetch(ctx, n)
			if err != nil {
				yield(zero, err)
				return
			}
			if p.Number != 0 && p.Number != n {
				yield(zero, fmt.Errorf("circle: asked for page %d, got page %d: the list is not advancing", n, p.Number))
				return
			}
			for _, r := range p.Records {
				if !yield(r, nil) {
					return
				}
			}
			if !p.HasNext || len(p.Records) == 0 {
				return
			}
		}
	}
}
