package circletest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/circlekit/headless-go/gen/memberv1"
)

// community is what the Member API remembers: the records of one
// community, made by seeding ([Server.AddSpace] and its siblings) or by the
// write operations of the Member spec. Every field is guarded by the
// server's mutex.
type community struct {
	seq map[string]int // the last id given, per kind of record; never reused

	spaces        map[int]*spaceRec
	posts         map[int]*postRec
	comments      map[int]*commentRec
	bookmarks     map[int]*bookmarkRec
	bookmarkIDs   map[bookmarkKey]int // the bookmark of a record by a member
	notifications map[int]*notificationRec
	rooms         map[string]*roomRec
	messages      map[int]*messageRec
	progress      map[progressKey]string
	profiles      map[int64]*profile
	prefs         map[prefKey]bool
	spacePrefs    map[spacePrefKey]string
	quizzes       map[int]*quizRec
	invitations   map[string][]int // invitation link token -> the spaces it joins
	liveRooms     map[int]*memberv1.LiveRoom
	blobs         map[string]*memberv1.DirectUploadResponse // by signed id
}

func newCommunity() *community {
	return &community{
		seq:           map[string]int{},
		spaces:        map[int]*spaceRec{},
		posts:         map[int]*postRec{},
		comments:      map[int]*commentRec{},
		bookmarks:     map[int]*bookmarkRec{},
		bookmarkIDs:   map[bookmarkKey]int{},
		notifications: map[int]*notificationRec{},
		rooms:         map[string]*roomRec{},
		messages:      map[int]*messageRec{},
		progress:      map[progressKey]string{},
		profiles:      map[int64]*profile{},
		prefs:         map[prefKey]bool{},
		spacePrefs:    map[spacePrefKey]string{},
		quizzes:       map[int]*quizRec{},
		invitations:   map[string][]int{},
		liveRooms:     map[int]*memberv1.LiveRoom{},
		blobs:         map[string]*memberv1.DirectUploadResponse{},
	}
}

// next returns a new id for a record of kind.
func (c *community) next(kind string) int {
	c.seq[kind]++
	return c.seq[kind]
}

// claim records that id is taken for kind, so that later ids follow it.
func (c *community) claim(kind string, id int) {
	c.seq[kind] = max(c.seq[kind], id)
}

type spaceRec struct {
	memberv1.Space
	members  map[int64]int // member -> space member id
	lastRead map[int64]int // member -> the last post id when they marked it read
}

type postRec struct {
	memberv1.Post
	author    int64
	likers    []int64
	followers map[int64]int // member -> post follower id
	attendees []attendeeRec
	comments  []int // top-level comments, oldest first
}

type attendeeRec struct {
	id     int
	member int64
	at     time.Time
}

type commentRec struct {
	memberv1.Comment
	author  int64
	likers  []int64
	replies []int // oldest first
}

type bookmarkKey struct {
	owner int64
	kind  string
	id    int
}

type bookmarkRec struct {
	memberv1.Bookmark
	owner int64
}

type notificationRec struct {
	memberv1.Notification
	owner    int64
	archived bool
	fresh    bool // new: made since the owner's count was last reset
}

type roomRec struct {
	id      int
	uuid    string
	kind    string
	name    string
	desc    string
	created time.Time
	parts   []*participantRec
	msgs    []int // ids of its messages, oldest first
	// embedded is set for the chat of a live room: it is not among the
	// member's chat rooms and its creation is not announced.
	embedded bool
}

type participantRec struct {
	id                     int
	member                 int64
	admin, muted, archived bool
	lastRead               int // id of the last message read
}

type messageRec struct {
	memberv1.ChatRoomMessage
	room   string
	sender int64
}

type progressKey struct {
	member         int64
	course, lesson int
}

type prefKey struct {
	member       int64
	medium, kind string
}

type spacePrefKey struct {
	member        int64
	medium        string
	spaceMemberID int
}

type quizRec struct {
	memberv1.QuizAttempt
	quiz   int
	member int64
	result string
	at     time.Time
}

// profile is what a member changed of their own profile.
type profile struct {
	name, headline, avatar, timeZone *string
	messaging, visible               *bool
	deactivated                      bool
	confirmed                        bool
}

// Reset empties the community: spaces, posts, comments, likes, bookmarks,
// notifications, chat rooms and every other record the Member API keeps
// go. Ids are still never reused: a record made after Reset gets an id
// no earlier record had. Members, their tokens, the responses registered
// with [Server.SetResponse] and [Server.SetRecords], injected faults and
// the recorded requests are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.c.seq
	s.c = newCommunity()
	s.c.seq = seq
}

// AddSpace adds sp to the community and returns the stored space, with its
// ID assigned when sp.ID is zero (a space with the same ID is replaced).
// Its Name, Slug and other fields are kept as given; a missing Slug is
// made from the Name. Members join it with [Server.AddSpaceMember] or
// the joinSpace operation.
func (s *Server) AddSpace(sp memberv1.Space) memberv1.Space {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.addSpace(sp, s.communityID)
}

func (c *community) addSpace(sp memberv1.Space, communityID int64) memberv1.Space {
	if sp.ID <= 0 {
		sp.ID = c.next("space")
	}
	c.claim("space", sp.ID)
	if sp.Name == "" {
		sp.Name = fmt.Sprintf("Space %d", sp.ID)
	}
	if sp.Slug == "" {
		sp.Slug = slugify(sp.Name)
	}
	if sp.CommunityID == 0 {
		sp.CommunityID = int(communityID)
	}
	if sp.SpaceType == "" {
		sp.SpaceType = "basic"
	}
	sp.IsMember, sp.SpaceMemberID = false, 0 // per member: computed when shown
	rec := &spaceRec{Space: sp, members: map[int64]int{}, lastRead: map[int64]int{}}
	if old := c.spaces[sp.ID]; old != nil {
		rec.members, rec.lastRead = old.members, old.lastRead
	}
	c.spaces[sp.ID] = rec
	return sp
}

// AddSpaceMember makes the member memberID a member of the space spaceID,
// as the joinSpace operation does, and returns the space as that member
// sees it. It panics if the space or the member does not exist.
func (s *Server) AddSpaceMember(spaceID int, memberID int64) memberv1.Space {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.c.spaces[spaceID]
	if sp == nil {
		panic(fmt.Sprintf("circletest: AddSpaceMember: no space %d", spaceID))
	}
	if _, ok := s.members[memberID]; !ok {
		panic(fmt.Sprintf("circletest: AddSpaceMember: no member %d", memberID))
	}
	s.c.join(sp, memberID)
	return s.spaceView(sp, memberID)
}

func (c *community) join(sp *spaceRec, member int64) {
	if _, ok := sp.members[member]; !ok {
		sp.members[member] = c.next("space_member")
	}
}

// AddPost adds p to the community and returns the stored post, with its
// ID assigned when p.ID is zero (a post with the same ID is replaced,
// keeping its likes, followers and comments). p.Space.ID must name a space added
// before; p.Author.ID, when set, names the member who wrote it (who then
// follows it, as on Circle). CreatedAt defaults to the server's clock.
// Counts and per-member flags (likes, comments, bookmarks, following) are
// kept by the server and ignored here. Comments and likes are enabled
// (IsCommentsEnabled and IsLikingEnabled are set); set IsCommentsClosed to
// refuse comments. An event is a post with PostType "event". It panics if
// the space does not exist.
func (s *Server) AddPost(p memberv1.Post) memberv1.Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.IsCommentsEnabled, p.IsLikingEnabled = true, true
	rec, err := s.addPost(p)
	if err != nil {
		panic("circletest: AddPost: " + err.Error())
	}
	return s.postView(rec, int64(p.Author.ID))
}

func (s *Server) addPost(p memberv1.Post) (*postRec, error) {
	sp := s.c.spaces[p.Space.ID]
	if sp == nil {
		return nil, fmt.Errorf("no space %d", p.Space.ID)
	}
	if p.ID <= 0 {
		p.ID = s.c.next("post")
	}
	s.c.claim("post", p.ID)
	if p.CreatedAt.IsZero() {
		p.CreatedAt = s.now
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = p.CreatedAt
	}
	if p.Slug == "" {
		p.Slug = slugify(cmp.Or(p.Name, fmt.Sprintf("post %d", p.ID)))
	}
	if p.PostType == "" {
		p.PostType = "basic"
	}
	if p.Status == "" {
		p.Status = "published"
	}
	if p.BodyPlainText == "" && p.Body.HTML != "" {
		p.BodyPlainText = p.Body.HTML
	}
	if p.Body.HTML == "" && p.BodyPlainText != "" {
		p.Body.HTML = "<p>" + p.BodyPlainText + "</p>"
	}
	p.Space = memberv1.PostSpace{ID: sp.ID, Name: sp.Name, Slug: sp.Slug, Emoji: sp.Emoji}
	p.SpaceType = sp.SpaceType
	p.URL = fmt.Sprintf("https://community.example.com/c/%s/%s", sp.Slug, p.Slug)
	author := int64(p.Author.ID)
	rec := &postRec{Post: p, author: author, followers: map[int64]int{}}
	if old := s.c.posts[p.ID]; old != nil {
		rec.likers, rec.followers, rec.attendees, rec.comments = old.likers, old.followers, old.attendees, old.comments
	}
	if author != 0 {
		if _, ok := rec.followers[author]; !ok {
			rec.followers[author] = s.c.next("post_follower")
		}
	}
	s.c.posts[p.ID] = rec
	return rec, nil
}

// AddComment adds c to the community and returns the stored comment, with
// its ID assigned when c.ID is zero (a comment with the same ID is
// replaced). c.PostID must name a post; a reply
// sets c.ParentCommentID to a comment of that post (or sets only
// ParentCommentID, and the post is taken from it). c.CommunityMemberID (or
// c.Author.ID) names the member who wrote it. BodyText is its text.
// It panics if the post or the parent comment does not exist.
func (s *Server) AddComment(c memberv1.Comment) memberv1.Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.addComment(c)
	if err != nil {
		panic("circletest: AddComment: " + err.Error())
	}
	return s.commentView(rec, rec.author)
}

func (s *Server) addComment(c memberv1.Comment) (*commentRec, error) {
	var parent *commentRec
	if c.ParentCommentID != 0 {
		if parent = s.c.comments[c.ParentCommentID]; parent == nil {
			return nil, fmt.Errorf("no comment %d", c.ParentCommentID)
		}
		if parent.ParentCommentID != 0 {
			return nil, fmt.Errorf("comment %d is a reply; replies are made to top-level comments", parent.ID)
		}
		c.PostID = parent.PostID
	}
	p := s.c.posts[c.PostID]
	if p == nil {
		return nil, fmt.Errorf("no post %d", c.PostID)
	}
	if c.ID <= 0 {
		c.ID = s.c.next("comment")
	}
	s.c.claim("comment", c.ID)
	author := int64(cmp.Or(c.CommunityMemberID, c.Author.ID))
	c.CommunityMemberID = int(author)
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	if c.BodyText == "" {
		c.BodyText = c.Body.HTML
	}
	if c.Body.HTML == "" {
		c.Body.HTML = "<p>" + c.BodyText + "</p>"
	}
	c.PostID, c.PostName, c.SpaceID = p.ID, p.Name, p.Space.ID
	rec := &commentRec{Comment: c, author: author}
	if old := s.c.comments[c.ID]; old != nil {
		rec.likers, rec.replies = old.likers, old.replies
	} else if parent != nil {
		parent.replies = append(parent.replies, c.ID)
	} else {
		p.comments = append(p.comments, c.ID)
	}
	s.c.comments[c.ID] = rec
	return rec, nil
}

// AddNotification adds n to the notifications of the member memberID and
// returns the stored notification, with its ID assigned when n.ID is zero
// (one with the same ID is replaced) and CreatedAt defaulting to the server's clock. It counts as new for
// the member until the resetNewNotificationsCount operation, and as unread
// until n.ReadAt is set (here or by markNotificationRead). It panics if the
// member does not exist.
func (s *Server) AddNotification(memberID int64, n memberv1.Notification) memberv1.Notification {
	s.mu.Lock()
	if _, ok := s.members[memberID]; !ok {
		s.mu.Unlock()
		panic(fmt.Sprintf("circletest: AddNotification: no member %d", memberID))
	}
	var ev events
	n = s.notify(&ev, memberID, n)
	ev.send(s)
	s.mu.Unlock()
	return n
}

// notify stores n for member and queues the events Circle sends for it.
func (s *Server) notify(ev *events, member int64, n memberv1.Notification) memberv1.Notification {
	if n.ID <= 0 {
		n.ID = s.c.next("notification")
	}
	s.c.claim("notification", n.ID)
	if n.CreatedAt.IsZero() {
		n.CreatedAt = s.now
	}
	s.c.notifications[n.ID] = &notificationRec{Notification: n, owner: member, fresh: true}
	ev.add(member, channelNotifications, eventNewNotification, n)
	ev.add(member, channelNotifications, eventUpdateNewNotificationCount, s.newCountView(member))
	return n
}

// AddInvitationLink adds an invitation link with the given token that
// makes the member who follows it (the joinInvitationLink operation) a
// member of the spaces named. It panics if token is empty or a space does
// not exist.
func (s *Server) AddInvitationLink(token string, spaceIDs ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token == "" {
		panic("circletest: AddInvitationLink: empty token")
	}
	for _, id := range spaceIDs {
		if s.c.spaces[id] == nil {
			panic(fmt.Sprintf("circletest: AddInvitationLink: no space %d", id))
		}
	}
	s.c.invitations[token] = slices.Clone(spaceIDs)
}

// AddChatRoom adds a chat room whose participants are the members named,
// and returns it as the first of them sees it. room.ChatRoom.ChatRoomKind
// defaults to "direct" for two participants and "group_chat" for more;
// the UUID is assigned when empty. It panics if a member does not exist.
func (s *Server) AddChatRoom(room memberv1.ChatRoom, members ...int64) memberv1.ChatRoom {
	s.mu.Lock()
	for _, m := range members {
		if _, ok := s.members[m]; !ok {
			s.mu.Unlock()
			panic(fmt.Sprintf("circletest: AddChatRoom: no member %d", m))
		}
	}
	var ev events
	rec := s.addRoom(&ev, room.ChatRoom, members, false)
	var viewer int64
	if len(members) > 0 {
		viewer = members[0]
	}
	v := s.roomView(rec, viewer)
	ev.send(s)
	s.mu.Unlock()
	return v
}

func (s *Server) addRoom(ev *events, d memberv1.ChatRoomDetails, members []int64, embedded bool) *roomRec {
	if d.ID <= 0 {
		d.ID = s.c.next("chat_room")
	}
	s.c.claim("chat_room", d.ID)
	if d.UUID == "" {
		d.UUID = fmt.Sprintf("%08x-0000-4000-8000-%012x", s.communityID, d.ID)
	}
	kind := d.ChatRoomKind
	if kind == "" {
		kind = "group_chat"
		if len(members) <= 2 {
			kind = "direct"
		}
	}
	rec := &roomRec{id: d.ID, uuid: d.UUID, kind: kind, name: d.ChatRoomName, desc: d.ChatRoomDescription, created: s.now, embedded: embedded}
	seen := map[int64]bool{}
	for _, m := range members {
		if seen[m] {
			continue
		}
		seen[m] = true
		rec.parts = append(rec.parts, &participantRec{id: s.c.next("chat_room_participant"), member: m})
	}
	s.c.rooms[rec.uuid] = rec
	for _, p := range rec.parts {
		if !rec.embedded {
			ev.add(p.member, channelChatRooms, eventChatRoomCreated, s.roomView(rec, p.member))
		}
	}
	return rec
}

// AddChatMessage adds m to the chat room roomUUID, sent by
// m.Sender.CommunityMemberID, and returns the stored message (ID assigned
// when zero, SentAt and CreatedAt defaulting to the server's clock). The
// message counts as unread for the other participants. It panics if the
// room does not exist or the sender is not one of its participants.
func (s *Server) AddChatMessage(roomUUID string, m memberv1.ChatRoomMessage) memberv1.ChatRoomMessage {
	s.mu.Lock()
	room := s.c.rooms[roomUUID]
	if room == nil {
		s.mu.Unlock()
		panic(fmt.Sprintf("circletest: AddChatMessage: no chat room %q", roomUUID))
	}
	if room.part(int64(m.Sender.CommunityMemberID)) == nil {
		s.mu.Unlock()
		panic(fmt.Sprintf("circletest: AddChatMessage: member %d is not in chat room %q", m.Sender.CommunityMemberID, roomUUID))
	}
	var ev events
	rec := s.addMessage(&ev, room, int64(m.Sender.CommunityMemberID), m)
	out := rec.ChatRoomMessage
	ev.send(s)
	s.mu.Unlock()
	return out
}

func (s *Server) addMessage(ev *events, room *roomRec, sender int64, m memberv1.ChatRoomMessage) *messageRec {
	if m.ID <= 0 {
		m.ID = s.c.next("chat_message")
	}
	s.c.claim("chat_message", m.ID)
	if m.SentAt.IsZero() {
		m.SentAt = s.now
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = m.SentAt
	}
	if m.Body == "" {
		m.Body = richText(m.RichTextBody)
	}
	m.ChatRoomUUID = room.uuid
	p := room.part(sender)
	m.ChatRoomParticipantID = p.id
	m.Sender = memberv1.ChatMessageSender{ID: p.id, CommunityMemberID: int(sender), Name: s.memberName(sender)}
	rec := &messageRec{ChatRoomMessage: m, room: room.uuid, sender: sender}
	s.c.messages[m.ID] = rec
	if i, found := slices.BinarySearch(room.msgs, m.ID); !found {
		room.msgs = slices.Insert(room.msgs, i, m.ID)
	}
	p.lastRead = max(p.lastRead, m.ID) // one's own message is read
	if m.ParentMessageID != 0 {
		if parent := s.c.messages[m.ParentMessageID]; parent != nil {
			parent.RepliesCount++
			parent.LastReplyAt = m.SentAt
		}
	}
	for _, q := range room.parts {
		ev.add(q.member, channelChatRooms, eventChatMessageCreated, roomMessage{rec.ChatRoomMessage, room.id})
	}
	return rec
}

func (r *roomRec) part(member int64) *participantRec {
	for _, p := range r.parts {
		if p.member == member {
			return p
		}
	}
	return nil
}

// memberName is the name a member goes by: the one set on their profile,
// else Member.Name, else the part of their email before the @.
func (s *Server) memberName(id int64) string {
	if p := s.c.profiles[id]; p != nil && p.name != nil {
		return *p.name
	}
	m := s.members[id]
	if m.Name != "" {
		return m.Name
	}
	if local, _, ok := strings.Cut(m.Email, "@"); ok && local != "" {
		return local
	}
	if id == 0 {
		return ""
	}
	return fmt.Sprintf("Member %d", id)
}

func (s *Server) headline(id int64) string {
	if p := s.c.profiles[id]; p != nil && p.headline != nil {
		return *p.headline
	}
	return ""
}

func (s *Server) avatar(id int64) string {
	if p := s.c.profiles[id]; p != nil && p.avatar != nil {
		return *p.avatar
	}
	return ""
}

// shared is a member as shown beside what they wrote.
func (s *Server) shared(id int64) memberv1.SharedCommunityMember {
	if id == 0 {
		return memberv1.SharedCommunityMember{}
	}
	return memberv1.SharedCommunityMember{ID: int(id), Name: s.memberName(id), Headline: s.headline(id), AvatarURL: s.avatar(id)}
}

// active reports whether the member exists and has not deactivated.
func (s *Server) active(id int64) bool {
	_, ok := s.members[id]
	p := s.c.profiles[id]
	return ok && (p == nil || !p.deactivated)
}

// spaceView is sp as member sees it.
func (s *Server) spaceView(sp *spaceRec, member int64) memberv1.Space {
	v := sp.Space
	if id, ok := sp.members[member]; ok {
		v.IsMember, v.SpaceMemberID = true, id
		v.Policies.CanLeaveSpace = true
		v.Policies.CanCreatePost = !v.IsPostDisabled
	}
	v.Policies.CanViewSpace = !v.IsPrivate || v.IsMember
	return v
}

// canSee reports whether member may see the space: it is public or they
// belong to it.
func (sp *spaceRec) canSee(member int64) bool {
	_, in := sp.members[member]
	return !sp.IsPrivate || in
}

// commentCount is how many comments and replies p has.
func (c *community) commentCount(p *postRec) int {
	n := len(p.comments)
	for _, id := range p.comments {
		if cr := c.comments[id]; cr != nil {
			n += len(cr.replies)
		}
	}
	return n
}

// postView is p as member sees it.
func (s *Server) postView(p *postRec, member int64) memberv1.Post {
	v := p.Post
	v.Author = s.shared(p.author)
	v.UserLikesCount = len(p.likers)
	v.IsLiked = slices.Contains(p.likers, member)
	v.FirstLikedBy = nil
	for _, m := range p.likers[:min(3, len(p.likers))] {
		v.FirstLikedBy = append(v.FirstLikedBy, s.shared(m))
	}
	v.CommentCount = s.c.commentCount(p)
	v.BookmarkID = s.bookmarkOf(member, "post", p.ID)
	v.PostFollowerID = p.followers[member]
	v.RsvpedEvent = false
	v.EventAttendees = memberv1.EventAttendeesSummary{Count: len(p.attendees)}
	for i, a := range p.attendees {
		if a.member == member {
			v.RsvpedEvent = true
		}
		if i < 3 {
			v.EventAttendees.Records = append(v.EventAttendees.Records, s.attendeeView(a))
		}
	}
	mine := p.author == member && member != 0
	v.Policies = memberv1.PostPolicies{CanUpdatePost: mine, CanDestroyPost: mine, CanReportPost: !mine}
	return v
}

func (s *Server) attendeeView(a attendeeRec) memberv1.EventAttendee {
	return memberv1.EventAttendee{
		ID: a.id, CommunityMemberID: int(a.member), Name: s.memberName(a.member),
		AvatarURL: s.avatar(a.member), RSVPDate: a.at, ContactType: "CommunityMember", ContactID: int(a.member),
	}
}

// commentView is c as member sees it, with its replies when it has any.
func (s *Server) commentView(c *commentRec, member int64) memberv1.Comment {
	v := c.Comment
	v.Author = s.shared(c.author)
	v.UserLikesCount = len(c.likers)
	v.IsLiked = slices.Contains(c.likers, member)
	v.RepliesCount = len(c.replies)
	v.Replies = nil
	v.BookmarkID = s.bookmarkOf(member, "comment", c.ID)
	mine := c.author == member && member != 0
	v.Policies = memberv1.CommentPolicies{CanEdit: mine, CanDestroy: mine, CanReport: !mine, CanBookmark: true}
	return v
}

// bookmarkOf returns the id of member's bookmark of the record, or 0.
func (s *Server) bookmarkOf(member int64, kind string, id int) int {
	return s.c.bookmarkIDs[bookmarkKey{member, kind, id}]
}

// roomView is the room as member sees it.
func (s *Server) roomView(r *roomRec, member int64) memberv1.ChatRoom {
	d := memberv1.ChatRoomDetails{
		ID: r.id, UUID: r.uuid, Identifier: r.uuid, ChatRoomKind: r.kind, ChatRoomName: r.name,
		ChatRoomDescription: r.desc, ChatRoomParticipantsCount: len(r.parts), ChatRoomShowHistory: true,
	}
	me := r.part(member)
	for _, p := range r.parts {
		if p == me {
			d.CurrentParticipant = memberv1.ChatRoomCurrentParticipant{
				ID: p.id, CommunityMemberID: int(p.member), Name: s.memberName(p.member),
				Admin: p.admin, Muted: p.muted, Archived: p.archived, CanSendMessage: true,
			}
			continue
		}
		d.OtherParticipantsPreview = append(d.OtherParticipantsPreview, memberv1.ChatRoomParticipantPreview{
			ID: p.id, CommunityMemberID: int(p.member), Name: s.memberName(p.member), Admin: p.admin,
		})
	}
	msgs := s.roomMessages(r.uuid)
	if len(msgs) > 0 {
		last := msgs[len(msgs)-1]
		d.LastMessage = memberv1.ChatRoomLastMessage{
			ID: last.ID, Body: last.Body, ChatRoomUUID: r.uuid, ChatRoomParticipantID: last.ChatRoomParticipantID,
			CreatedAt: last.CreatedAt, EditedAt: last.EditedAt, RichTextBody: last.RichTextBody, ParentMessageID: last.ParentMessageID,
		}
	}
	if me != nil {
		for _, m := range msgs {
			if m.ID > me.lastRead && m.sender != member {
				d.UnreadMessagesCount++
				if d.FirstUnreadMessageID == 0 {
					d.FirstUnreadMessageID = m.ID
				}
			}
		}
	}
	return memberv1.ChatRoom{ChatRoom: d}
}

// roomMessages returns the messages of the room, oldest first.
func (s *Server) roomMessages(uuid string) []*messageRec {
	r := s.c.rooms[uuid]
	if r == nil {
		return nil
	}
	out := make([]*messageRec, 0, len(r.msgs))
	for _, id := range r.msgs {
		if m := s.c.messages[id]; m != nil {
			out = append(out, m)
		}
	}
	return out
}

// resetNewCount makes none of member's notifications new.
func (c *community) resetNewCount(member int64) {
	for _, r := range c.notifications {
		if r.owner == member {
			r.fresh = false
		}
	}
}

// newCountView is the new-notification count of member: how many of
// their notifications are new.
func (s *Server) newCountView(member int64) memberv1.NewNotificationsCount {
	n := 0
	for _, r := range s.c.notifications {
		if r.owner == member && r.fresh {
			n++
		}
	}
	return memberv1.NewNotificationsCount{NewNotificationsCount: n}
}

// richText returns the text of a chat message's rich text body.
func richText(b memberv1.RichTextBody) string {
	var parts []string
	for _, block := range b.Body.Content {
		for _, n := range block.Content {
			if n.Text != "" {
				parts = append(parts, n.Text)
			}
		}
	}
	if len(parts) == 0 {
		return b.CircleIosFallbackText
	}
	return strings.Join(parts, " ")
}

// tiptapText returns the text of a TipTap document given to a write.
func tiptapText(d memberv1.TiptapDocumentInput) string {
	var parts []string
	for _, n := range d.Content {
		if n.Text != "" {
			parts = append(parts, n.Text)
		}
	}
	return strings.Join(parts, " ")
}

// slugify makes a URL slug of a name.
func slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if out == "" {
		return "item"
	}
	return out
}
