package bffevents_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/circlekit/headless-go/bff"
	"github.com/circlekit/headless-go/bff/bffevents"
	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// A member's notification reaches the browser's stream, against the fake
// Circle. The "browser" here is an HTTP client that reads the stream as
// a page's fetch reader does.
func ExampleRoute() {
	fake, _ := circletest.NewServer()
	defer fake.Close()
	ada := fake.AddMember(circletest.Member{Email: "ada@example.com"})
	auth, _ := circle.NewAuthClient(fake.AppToken(), circle.WithBaseURL(fake.URL()))
	defer func() { _ = auth.Close() }()
	identify := func(r *http.Request) (circle.Identity, error) {
		if r.Header.Get("X-Session") != "ada" { // the site's own session
			return circle.Identity{}, errors.New("not signed in")
		}
		return circle.ByEmail("ada@example.com"), nil
	}
	proxy, err := bff.New(auth, identify, bffevents.Route(10))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = proxy.Close() }()
	site := httptest.NewServer(proxy)
	defer site.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, site.URL+"/circle/events", nil)
	req.Header.Set("X-CSRF", "1") // as every request to bff
	req.Header.Set("X-Session", "ada")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))

	for len(fake.CableSubscriptions(ada.ID)) == 0 { // until the stream follows the cable
		time.Sleep(time.Millisecond)
	}
	fake.AddNotification(ada.ID, memberv1.Notification{ActorName: "Grace"})
	sc := bufio.NewScanner(resp.Body)
	for n := 0; n < 2 && sc.Scan(); {
		if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			fmt.Println(name)
			n++
		}
	}
	// Output:
	// 200 text/event-stream
	// newNotification
	// updateNewNotificationCount
}

// With channels=chat_rooms the stream relays the member's chat: here a
// message that grace writes in the room she shares with ada. (Add
// notifications, "channels=notifications,chat_rooms", for both in one
// stream.)
func ExampleRoute_chat() {
	fake, _ := circletest.NewServer()
	defer fake.Close()
	ada := fake.AddMember(circletest.Member{Email: "ada@example.com"})
	grace := fake.AddMember(circletest.Member{Email: "grace@example.com", Name: "Grace"})
	room := fake.AddChatRoom(memberv1.ChatRoom{}, ada.ID, grace.ID).ChatRoom
	auth, _ := circle.NewAuthClient(fake.AppToken(), circle.WithBaseURL(fake.URL()))
	defer func() { _ = auth.Close() }()
	identify := func(*http.Request) (circle.Identity, error) { return circle.ByEmail("ada@example.com"), nil }
	proxy, err := bff.New(auth, identify, bffevents.Route(10))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = proxy.Close() }()
	site := httptest.NewServer(proxy)
	defer site.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, site.URL+"/circle/events?channels=chat_rooms", nil)
	req.Header.Set("X-CSRF", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = resp.Body.Close() }()

	for len(fake.CableSubscriptions(ada.ID)) == 0 {
		time.Sleep(time.Millisecond)
	}
	fake.AddChatMessage(room.UUID, memberv1.ChatRoomMessage{Body: "hello Ada", Sender: memberv1.ChatMessageSender{CommunityMemberID: int(grace.ID)}})
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			fmt.Println(name)
			sc.Scan()
			fmt.Println(strings.Contains(sc.Text(), `"body":"hello Ada"`))
			break
		}
	}
	// Output:
	// newMessage
	// true
}
