package circletest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/circlekit/headless-go/gen/memberv1"
)

// stateCall is one Member API call being answered from the community's state.
// Its handler runs with the server's lock held.
type stateCall struct {
	s      *Server
	c      *community
	r      *http.Request
	op     *operation
	params map[string]string
	query  url.Values
	body   []byte
	me     int64
	now    time.Time
	ev     events
}

// handler answers one operation from the state.
type handler func(c *stateCall) reply

// answerFromState answers a call of op from the community's state, when
// op is modelled. It reports false when op is not.
func (s *Server) answerFromState(r *http.Request, op *operation, params map[string]string, rec *Request) (reply, bool) {
	h := models[op.id]
	if h == nil || !s.stateful {
		return reply{}, false
	}
	c := &stateCall{s: s, r: r, op: op, params: params, query: r.URL.Query(), body: rec.Body, me: rec.MemberID}
	s.mu.Lock()
	c.c, c.now = s.c, s.now
	rp := h(c)
	c.ev.send(s) // under the lock, so that two calls' events arrive in the order of their changes
	s.mu.Unlock()
	if rp.mime == "" && len(rp.body) > 0 {
		rp.mime = "application/json"
	}
	return rp, true
}

// models holds the handler of every operation answered from the state.
var models map[string]handler

func init() {
	models = map[string]handler{
		// Spaces.
		"listSpaces":       listSpaces,
		"getSpace":         getSpace,
		"getHomeSpace":     getHomeSpace,
		"joinSpace":        joinSpace,
		"leaveSpace":       leaveSpace,
		"listMemberSpaces": listMemberSpaces,
		"markSpaceRead":    markSpaceRead,

		"listSpaceNotificationDetails": listSpaceNotificationDetails,

		// Posts.
		"listHomePosts":   listHomePosts,
		"listSpacePosts":  listSpacePosts,
		"listMemberPosts": listMemberPosts,
		"getSpacePost":    getSpacePost,
		"createPost":      createPost,
		"createImagePost": createImagePost,
		"updateImagePost": updateImagePost,
		"deletePost":      deletePost,
		"likePost":        likePost,
		"unlikePost":      unlikePost,
		"listPostLikes":   listPostLikes,

		"followPost":         followPost,
		"unfollowPost":       unfollowPost,
		"deletePostFollower": deletePostFollower,

		// Comments and replies.
		"listPostComments":   listPostComments,
		"getComment":         getComment,
		"createComment":      createComment,
		"updateComment":      updateComment,
		"deleteComment":      deleteComment,
		"listCommentReplies": listCommentReplies,
		"getReply":           getReply,
		"createReply":        createReply,
		"updateReply":        updateReply,
		"deleteReply":        deleteReply,
		"listMemberComments": listMemberComments,
		"likeComment":        likeComment,
		"unlikeComment":      unlikeComment,
		"listCommentLikes":   listCommentLikes,

		"createFlaggedContent": createFlaggedContent,

		// Bookmarks.
		"listBookmarks":  listBookmarks,
		"createBookmark": createBookmark,
		"deleteBookmark": deleteBookmark,

		// Members and profiles.
		"getCurrentMember":        getCurrentMember,
		"getMemberProfile":        getMemberProfile,
		"listCommunityMembers":    listCommunityMembers,
		"searchCommunityMembers":  searchCommunityMembers,
		"updateProfile":           updateProfile,
		"confirmProfile":          updateProfile,
		"deactivateCurrentMember": deactivateCurrentMember,

		// Search.
		"searchCommunity": searchCommunity,

		// Notifications.
		"listNotifications":          listNotifications,
		"getNewNotificationsCount":   getNewNotificationsCount,
		"resetNewNotificationsCount": resetNewNotificationsCount,
		"markNotificationRead":       markNotificationRead,
		"markAllNotificationsRead":   markAllNotificationsRead,
		"archiveNotification":        archiveNotification,
		"deleteNotification":         deleteNotification,

		"getNotificationPreferences":            getNotificationPreferences,
		"updateNotificationPreference":          updateNotificationPreference,
		"updateSpaceNotificationPreference":     updateSpaceNotificationPreference,
		"updateAllSpacesNotificationPreference": updateAllSpacesNotificationPreference,
		"getSpaceMemberNotificationPreferences": getSpaceMemberNotificationPreferences,

		// Chat.
		"listChatRooms":         listChatRooms,
		"getChatRoom":           getChatRoom,
		"createChatRoom":        createChatRoom,
		"listUnreadChatRooms":   listUnreadChatRooms,
		"markChatRoomRead":      markChatRoomRead,
		"listChatMessages":      listChatMessages,
		"getChatMessage":        getChatMessage,
		"createChatMessage":     createChatMessage,
		"updateChatMessage":     updateChatMessage,
		"deleteChatMessage":     deleteChatMessage,
		"listChatParticipants":  listChatParticipants,
		"updateChatParticipant": updateChatParticipant,
		"createReaction":        createReaction,
		"deleteReaction":        deleteReaction,

		"joinInvitationLink": joinInvitationLink,
		"createDirectUpload": createDirectUpload,
		"createLiveRoom":     createLiveRoom,

		// Events.
		"listCommunityEvents":            listCommunityEvents,
		"listEventAttendees":             listEventAttendees,
		"createEventAttendee":            createEventAttendee,
		"deleteEventAttendee":            deleteEventAttendee,
		"updateRecurringEventAttendance": updateRecurringEventAttendance,

		// Courses.
		"getLesson":              getLesson,
		"updateLessonProgress":   updateLessonProgress,
		"createQuizAttempt":      createQuizAttempt,
		"getQuizAttempt":         getQuizAttempt,
		"updateQuizAttempt":      updateQuizAttempt,
		"listCourseQuizAttempts": listCourseQuizAttempts,
	}
}

// --- helpers ---

// json answers v with the operation's success status.
func (c *stateCall) json(v any) reply {
	return c.jsonStatus(c.op.status, v)
}

func (c *stateCall) jsonStatus(status int, v any) reply {
	rp := jsonReply(status, v)
	if c.op.mime != "" {
		rp.mime = c.op.mime
	}
	return rp
}

// empty answers the operation's success status without a body.
func (c *stateCall) empty() reply { return reply{status: c.op.status} }

func notFound(what string, id any) reply {
	return errorReply(http.StatusNotFound, fmt.Sprintf("%s %v not found", what, id))
}

func forbidden(msg string) reply { return errorReply(http.StatusForbidden, msg) }

func unprocessable(msg string) reply { return errorReply(http.StatusUnprocessableEntity, msg) }

// intParam is the path parameter name as an int (validation has checked
// it when the spec types it).
func (c *stateCall) intParam(name string) int {
	n, _ := strconv.Atoi(c.params[name])
	return n
}

// decode decodes the request body into v.
func (c *stateCall) decode(v any) error {
	if len(c.body) == 0 {
		return nil
	}
	return json.Unmarshal(c.body, v)
}

// page answers the records of a list in the pagination envelope, sliced
// by the call's page and per_page.
func page[T any](c *stateCall, records []T, extra map[string]any) reply {
	list := make([]any, len(records))
	for i, r := range records {
		list[i] = r
	}
	m := map[string]any{}
	for k, v := range extra {
		m[k] = v
	}
	paginate(m, list, c.r, c.body, c.op)
	return c.json(m)
}

// ok is the ActionResult of a successful action.
func ok(msg string) memberv1.ActionResult { return memberv1.ActionResult{Success: true, Message: msg} }

// newestFirst orders by time and then id, newest first.
func newestFirst(at1, at2 time.Time, id1, id2 int) int {
	if n := at2.Compare(at1); n != 0 {
		return n
	}
	return cmp.Compare(id2, id1)
}

// contains reports whether text holds the query, ignoring case.
func contains(text, query string) bool {
	return strings.Contains(strings.ToLower(text), strings.ToLower(query))
}

// --- spaces ---

func (c *stateCall) visibleSpaces() []*spaceRec {
	var out []*spaceRec
	for _, sp := range c.c.spaces {
		if sp.canSee(c.me) {
			out = append(out, sp)
		}
	}
	slices.SortFunc(out, func(a, b *spaceRec) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func listSpaces(c *stateCall) reply {
	out := []memberv1.Space{}
	for _, sp := range c.visibleSpaces() {
		out = append(out, c.s.spaceView(sp, c.me))
	}
	return c.json(out)
}

func (c *stateCall) space(param string) (*spaceRec, *reply) {
	id := c.intParam(param)
	sp := c.c.spaces[id]
	if sp == nil || !sp.canSee(c.me) {
		rp := notFound("space", id)
		return nil, &rp
	}
	return sp, nil
}

func getSpace(c *stateCall) reply {
	sp, rp := c.space("id")
	if rp != nil {
		return *rp
	}
	return c.json(c.s.spaceView(sp, c.me))
}

// getHomeSpace answers the first space the member belongs to, else the
// first they can see.
func getHomeSpace(c *stateCall) reply {
	spaces := c.visibleSpaces()
	for _, sp := range spaces {
		if _, in := sp.members[c.me]; in {
			return c.json(c.s.spaceView(sp, c.me))
		}
	}
	if len(spaces) == 0 {
		return notFound("home space", "of the community")
	}
	return c.json(c.s.spaceView(spaces[0], c.me))
}

func joinSpace(c *stateCall) reply {
	sp := c.c.spaces[c.intParam("id")]
	if sp == nil {
		return notFound("space", c.params["id"])
	}
	c.c.join(sp, c.me)
	return c.json(c.s.spaceView(sp, c.me))
}

func leaveSpace(c *stateCall) reply {
	sp, rp := c.space("id")
	if rp != nil {
		return *rp
	}
	delete(sp.members, c.me)
	delete(sp.lastRead, c.me)
	return c.json(c.s.spaceView(sp, c.me))
}

func listMemberSpaces(c *stateCall) reply {
	member := int64(c.intParam("community_member_id"))
	if !c.s.active(member) {
		return notFound("community member", member)
	}
	out := []memberv1.Space{}
	for _, sp := range c.visibleSpaces() {
		if _, in := sp.members[member]; in {
			out = append(out, c.s.spaceView(sp, c.me))
		}
	}
	return page(c, out, nil)
}

// spaceByMemberID finds the space the member belongs to under the space
// member id, or (as a convenience) the space with that id.
func (c *stateCall) spaceByMemberID(id int) *spaceRec {
	for _, sp := range c.c.spaces {
		if sp.members[c.me] == id {
			return sp
		}
	}
	if sp := c.c.spaces[id]; sp != nil {
		if _, in := sp.members[c.me]; in {
			return sp
		}
	}
	return nil
}

func markSpaceRead(c *stateCall) reply {
	sp := c.spaceByMemberID(c.intParam("id"))
	if sp == nil {
		return notFound("space member", c.params["id"])
	}
	sp.lastRead[c.me] = c.c.seq["post"]
	return c.json(memberv1.SuccessResult{Success: true})
}

// unread counts the posts of sp that others published since member last
// marked it read.
func (c *stateCall) unread(sp *spaceRec) int {
	read := sp.lastRead[c.me]
	n := 0
	for _, p := range c.c.posts {
		if p.Space.ID == sp.ID && p.author != c.me && p.ID > read && p.Status != "draft" {
			n++
		}
	}
	return n
}

func listSpaceNotificationDetails(c *stateCall) reply {
	var ids []int
	for _, raw := range c.query["space_ids"] {
		for _, part := range strings.Split(raw, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(part)); err == nil {
				ids = append(ids, n)
			}
		}
	}
	out := memberv1.SpaceNotificationDetails{}
	for _, sp := range c.visibleSpaces() {
		if _, in := sp.members[c.me]; !in || (len(ids) > 0 && !slices.Contains(ids, sp.ID)) {
			continue
		}
		unreadNotes := 0
		for _, n := range c.c.notifications {
			if n.owner == c.me && !n.archived && n.ReadAt.IsZero() && n.SpaceID == sp.ID {
				unreadNotes++
			}
		}
		out = append(out, memberv1.SpaceNotificationDetail{ID: sp.ID, UnreadContentCount: c.unread(sp), UnreadNotificationsCount: unreadNotes})
	}
	return c.json(out)
}

// --- posts ---

// posts returns the posts member can see that keep says to, ordered by
// the call's sort parameter (newest first by default).
func (c *stateCall) posts(keep func(*postRec) bool) []memberv1.Post {
	recs := c.postRecs(keep)
	out := make([]memberv1.Post, len(recs))
	for i, p := range recs {
		out[i] = c.s.postView(p, c.me)
	}
	return out
}

// postPage answers the page of the posts postRecs selects, making the
// member's view of the posts on that page only.
func (c *stateCall) postPage(keep func(*postRec) bool, extra map[string]any) reply {
	return pageView(c, c.postRecs(keep), func(p *postRec) memberv1.Post { return c.s.postView(p, c.me) }, extra)
}

// pageView answers the page of recs the call selects, each shown by view.
func pageView[R, T any](c *stateCall, recs []R, view func(R) T, extra map[string]any) reply {
	list := make([]any, len(recs))
	for i, r := range recs {
		list[i] = r
	}
	m := map[string]any{}
	for k, v := range extra {
		m[k] = v
	}
	paginate(m, list, c.r, c.body, c.op)
	onPage, _ := m["records"].([]any)
	views := make([]T, len(onPage))
	for i, r := range onPage {
		views[i] = view(r.(R))
	}
	m["records"] = views
	return c.json(m)
}

// postRecs returns the posts member can see that keep says to, ordered
// by the call's sort parameter (newest first by default).
func (c *stateCall) postRecs(keep func(*postRec) bool) []*postRec {
	var recs []*postRec
	for _, p := range c.c.posts {
		sp := c.c.spaces[p.Space.ID]
		if sp == nil || !sp.canSee(c.me) || !keep(p) {
			continue
		}
		if p.Status == "draft" && p.author != c.me {
			continue
		}
		recs = append(recs, p)
	}
	c.c.sortPosts(recs, c.query.Get("sort"))
	return recs
}

// sortPosts orders posts as sort says: newest first by default; by likes
// (and comments, for popular) or name, newest first among equals.
func (cm *community) sortPosts(posts []*postRec, sort string) {
	score := func(p *postRec) int { return len(p.likers) + cm.commentCount(p)*boolInt(sort == "popular") }
	slices.SortFunc(posts, func(a, b *postRec) int {
		switch sort {
		case "oldest":
			return -newestFirst(a.CreatedAt, b.CreatedAt, a.ID, b.ID)
		case "alphabetical":
			if n := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); n != 0 {
				return n
			}
		case "likes", "popular":
			if n := cmp.Compare(score(b), score(a)); n != 0 {
				return n
			}
		case "new_activity":
			if n := b.UpdatedAt.Compare(a.UpdatedAt); n != 0 {
				return n
			}
		}
		return newestFirst(a.CreatedAt, b.CreatedAt, a.ID, b.ID)
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func listHomePosts(c *stateCall) reply {
	return c.postPage(func(p *postRec) bool { return p.Status != "draft" }, map[string]any{"sort": cmp.Or(c.query.Get("sort"), "latest")})
}

func listSpacePosts(c *stateCall) reply {
	sp, rp := c.space("space_id")
	if rp != nil {
		return *rp
	}
	status := cmp.Or(c.query.Get("status"), "published")
	var ids, topics []int
	for _, raw := range c.query["post_ids"] {
		for _, part := range strings.Split(raw, ",") {
			if n, err := strconv.Atoi(part); err == nil {
				ids = append(ids, n)
			}
		}
	}
	for _, raw := range c.query["topics"] {
		for _, part := range strings.Split(raw, ",") {
			if n, err := strconv.Atoi(part); err == nil {
				topics = append(topics, n)
			}
		}
	}
	return c.postPage(func(p *postRec) bool {
		if p.Space.ID != sp.ID || p.Status != status || (len(ids) > 0 && !slices.Contains(ids, p.ID)) {
			return false
		}
		if len(topics) > 0 && !slices.ContainsFunc(p.Topics, func(t memberv1.Topic) bool { return slices.Contains(topics, t.ID) }) {
			return false
		}
		return true
	}, map[string]any{"sort": cmp.Or(c.query.Get("sort"), "latest")})
}

func listMemberPosts(c *stateCall) reply {
	member := int64(c.intParam("community_member_id"))
	if !c.s.active(member) {
		return notFound("community member", member)
	}
	return c.postPage(func(p *postRec) bool { return p.author == member && p.Status != "draft" }, nil)
}

// post finds the post named by the path parameter, in the space named by
// space_id when the path has one.
func (c *stateCall) post(param string) (*postRec, *reply) {
	id := c.intParam(param)
	p := c.c.posts[id]
	if p != nil {
		if sp := c.c.spaces[p.Space.ID]; sp == nil || !sp.canSee(c.me) {
			p = nil
		}
	}
	if p != nil && c.params["space_id"] != "" && p.Space.ID != c.intParam("space_id") {
		p = nil
	}
	if p == nil {
		rp := notFound("post", id)
		return nil, &rp
	}
	return p, nil
}

func getSpacePost(c *stateCall) reply {
	p, rp := c.post("id")
	if rp != nil {
		return *rp
	}
	return c.json(c.s.postView(p, c.me))
}

type postInput struct {
	GalleryAttributes memberv1.GalleryInput    `json:"gallery_attributes"`
	Name              *string                  `json:"name"`
	Slug              *string                  `json:"slug"`
	Body              *string                  `json:"body"`
	CoverImage        *string                  `json:"cover_image"`
	IsLikingEnabled   *bool                    `json:"is_liking_enabled"`
	IsCommentsEnabled *bool                    `json:"is_comments_enabled"`
	Topics            []int                    `json:"topics"`
	TiptapBody        memberv1.TiptapBodyInput `json:"tiptap_body"`
}

// apply sets the fields in applies to p.
func (in postInput) apply(p *memberv1.Post) {
	if in.Name != nil {
		p.Name, p.DisplayTitle = *in.Name, *in.Name
	}
	if in.Slug != nil && *in.Slug != "" {
		p.Slug = *in.Slug
	}
	text := ""
	if in.Body != nil {
		text = *in.Body
	} else if len(in.TiptapBody.Body.Content) > 0 {
		text = tiptapText(in.TiptapBody.Body)
	}
	if in.Body != nil || len(in.TiptapBody.Body.Content) > 0 {
		p.BodyPlainText, p.BodyPlainTextWithoutAttachments = text, text
		p.Body.HTML = "<p>" + text + "</p>"
	}
	if in.CoverImage != nil {
		p.CoverImage = *in.CoverImage
	}
	if in.IsLikingEnabled != nil {
		p.IsLikingEnabled = *in.IsLikingEnabled
	}
	if in.IsCommentsEnabled != nil {
		p.IsCommentsEnabled = *in.IsCommentsEnabled
	}
	if in.Topics != nil {
		p.Topics = nil
		for _, t := range in.Topics {
			p.Topics = append(p.Topics, memberv1.Topic{ID: t})
		}
	}
}

func (c *stateCall) create(postType string) (*postRec, *reply) {
	sp := c.c.spaces[c.intParam("space_id")]
	if sp == nil || !sp.canSee(c.me) {
		rp := notFound("space", c.params["space_id"])
		return nil, &rp
	}
	if sp.IsPostDisabled {
		rp := forbidden("posting is disabled in this space")
		return nil, &rp
	}
	var in postInput
	if err := c.decode(&in); err != nil {
		rp := unprocessable("the post could not be read: " + err.Error())
		return nil, &rp
	}
	p := memberv1.Post{
		Space: memberv1.PostSpace{ID: sp.ID}, Author: memberv1.SharedCommunityMember{ID: int(c.me)},
		PostType: postType, IsLikingEnabled: true, IsCommentsEnabled: true, Status: "published",
	}
	in.apply(&p)
	for _, img := range in.GalleryAttributes.ImagesAttributes {
		blob := c.c.blobs[img.SignedID]
		if blob == nil {
			rp := unprocessable(fmt.Sprintf("no uploaded file has the signed id %q", img.SignedID))
			return nil, &rp
		}
		p.Gallery.Images = append(p.Gallery.Images, memberv1.GalleryImage{
			ID: blob.ID, SignedID: blob.SignedID, Filename: blob.Filename, URL: blob.URL, Width: img.Width, Height: img.Height,
		})
	}
	rec, err := c.s.addPost(p)
	if err != nil {
		rp := notFound("space", sp.ID)
		return nil, &rp
	}
	return rec, nil
}

func createPost(c *stateCall) reply {
	p, rp := c.create("basic")
	if rp != nil {
		return *rp
	}
	return c.json(c.s.postView(p, c.me))
}

func createImagePost(c *stateCall) reply {
	p, rp := c.create("image")
	if rp != nil {
		return *rp
	}
	return c.json(convert[memberv1.ImagePost](c.s.postView(p, c.me)))
}

func updateImagePost(c *stateCall) reply {
	p, rp := c.post("id")
	if rp != nil {
		return *rp
	}
	if p.author != c.me {
		return forbidden("only the author may update the post")
	}
	var in postInput
	if err := c.decode(&in); err != nil {
		return unprocessable("the post could not be read: " + err.Error())
	}
	in.apply(&p.Post)
	p.UpdatedAt = c.now
	return c.json(convert[memberv1.ImagePost](c.s.postView(p, c.me)))
}

// convert re-encodes v as a T (a record of another type with the same
// fields).
func convert[T any](v any) T {
	var out T
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &out)
	return out
}

func deletePost(c *stateCall) reply {
	p, rp := c.post("id")
	if rp != nil {
		return *rp
	}
	if p.author != c.me {
		return forbidden("only the author may delete the post")
	}
	c.c.deletePost(p)
	return c.json(ok("Post deleted."))
}

// deletePost removes p, its comments and every bookmark of them.
func (cm *community) deletePost(p *postRec) {
	for _, id := range slices.Clone(p.comments) { // deleteComment edits p.comments
		if cr := cm.comments[id]; cr != nil {
			cm.deleteComment(cr)
		}
	}
	cm.dropBookmarks("post", p.ID)
	delete(cm.posts, p.ID)
}

func (cm *community) deleteComment(cr *commentRec) {
	for _, id := range cr.replies {
		cm.dropBookmarks("comment", id)
		delete(cm.comments, id)
	}
	if cr.ParentCommentID != 0 {
		if parent := cm.comments[cr.ParentCommentID]; parent != nil {
			parent.replies = slices.DeleteFunc(parent.replies, func(id int) bool { return id == cr.ID })
		}
	} else if p := cm.posts[cr.PostID]; p != nil {
		p.comments = slices.DeleteFunc(p.comments, func(id int) bool { return id == cr.ID })
	}
	cm.dropBookmarks("comment", cr.ID)
	delete(cm.comments, cr.ID)
}

func (cm *community) dropBookmarks(kind string, id int) {
	for _, b := range cm.bookmarks {
		if b.BookmarkableType == kind && b.RecordID == id {
			cm.deleteBookmark(b)
		}
	}
}

func (cm *community) deleteBookmark(b *bookmarkRec) {
	delete(cm.bookmarks, b.ID)
	delete(cm.bookmarkIDs, bookmarkKey{b.owner, b.BookmarkableType, b.RecordID})
}

func likePost(c *stateCall) reply {
	p, rp := c.post("post_id")
	if rp != nil {
		return *rp
	}
	if !p.IsLikingEnabled {
		return forbidden("liking is disabled on this post")
	}
	if !slices.Contains(p.likers, c.me) {
		p.likers = append(p.likers, c.me)
		if p.author != 0 && p.author != c.me {
			c.s.notify(&c.ev, p.author, memberv1.Notification{
				Action: "like", DisplayAction: "liked your post", ActorName: c.s.memberName(c.me),
				NotifiableID: p.ID, NotifiableType: "Post", NotifiableTitle: p.Name,
				SpaceID: p.Space.ID, SpaceTitle: p.Space.Name, ActionWebURL: p.URL,
				Notifiable: memberv1.Notifiable{ID: p.ID, SpaceID: p.Space.ID, CommunityID: int(c.s.communityID)},
			})
		}
	}
	return c.json(ok("Post liked."))
}

func unlikePost(c *stateCall) reply {
	p, rp := c.post("post_id")
	if rp != nil {
		return *rp
	}
	p.likers = slices.DeleteFunc(p.likers, func(m int64) bool { return m == c.me })
	return c.json(ok("Post unliked."))
}

func (c *stateCall) likers(members []int64) reply {
	out := make([]memberv1.SharedCommunityMember, 0, len(members))
	for _, m := range members {
		out = append(out, c.s.shared(m))
	}
	return page(c, out, nil)
}

func listPostLikes(c *stateCall) reply {
	p, rp := c.post("post_id")
	if rp != nil {
		return *rp
	}
	return c.likers(p.likers)
}

func followPost(c *stateCall) reply {
	p, rp := c.post("post_id")
	if rp != nil {
		return *rp
	}
	if _, ok := p.followers[c.me]; !ok {
		p.followers[c.me] = c.c.next("post_follower")
	}
	return c.json(ok("Following the post."))
}

func unfollowPost(c *stateCall) reply {
	p, rp := c.post("post_id")
	if rp != nil {
		return *rp
	}
	delete(p.followers, c.me)
	return c.json(ok("Not following the post."))
}

func deletePostFollower(c *stateCall) reply {
	p, rp := c.post("post_id")
	if rp != nil {
		return *rp
	}
	id := c.intParam("id")
	if p.followers[c.me] != id {
		return notFound("post follower", id)
	}
	delete(p.followers, c.me)
	return c.json(ok("Not following the post."))
}

// --- comments ---

type commentInput struct {
	Comment struct {
		Body       *string                  `json:"body"`
		TiptapBody memberv1.TiptapBodyInput `json:"tiptap_body"`
	} `json:"comment"`
}

func (in commentInput) text() (string, bool) {
	switch {
	case in.Comment.Body != nil:
		return *in.Comment.Body, true
	case len(in.Comment.TiptapBody.Body.Content) > 0:
		return tiptapText(in.Comment.TiptapBody.Body), true
	}
	return "", false
}

// comments returns the views of the comments ids, ordered by the call's
// sort parameter (oldest first by default).
func (c *stateCall) comments(ids []int) []memberv1.Comment {
	out := []memberv1.Comment{}
	for _, id := range ids {
		if cr := c.c.comments[id]; cr != nil {
			out = append(out, c.s.commentView(cr, c.me))
		}
	}
	sortComments(out, c.query.Get("sort"))
	return out
}

func sortComments(out []memberv1.Comment, sort string) {
	slices.SortFunc(out, func(a, b memberv1.Comment) int {
		switch sort {
		case "latest":
			return newestFirst(a.CreatedAt, b.CreatedAt, a.ID, b.ID)
		case "alphabetical":
			if n := strings.Compare(strings.ToLower(a.BodyText), strings.ToLower(b.BodyText)); n != 0 {
				return n
			}
		case "likes":
			if n := cmp.Compare(b.UserLikesCount, a.UserLikesCount); n != 0 {
				return n
			}
		case "latest_updated":
			if n := b.UpdatedAt.Compare(a.UpdatedAt); n != 0 {
				return n
			}
		case "oldest_updated":
			if n := a.UpdatedAt.Compare(b.UpdatedAt); n != 0 {
				return n
			}
		}
		return -newestFirst(a.CreatedAt, b.CreatedAt, a.ID, b.ID)
	})
}

func listPostComments(c *stateCall) reply {
	p, rp := c.post("post_id")
	if rp != nil {
		return *rp
	}
	return page(c, c.comments(p.comments), map[string]any{"sort": cmp.Or(c.query.Get("sort"), "oldest")})
}

// comment finds the comment (top level, or a reply when reply is set)
// named by the path parameter id under the parent parameter.
func (c *stateCall) comment(parent string, isReply bool) (*commentRec, *struct{ rp reply }) {
	id := c.intParam("id")
	cr := c.c.comments[id]
	if cr != nil {
		p := c.c.posts[cr.PostID]
		sp := (*spaceRec)(nil)
		if p != nil {
			sp = c.c.spaces[p.Space.ID]
		}
		switch {
		case p == nil || sp == nil || !sp.canSee(c.me):
			cr = nil
		case isReply && cr.ParentCommentID != c.intParam(parent):
			cr = nil
		case !isReply && (cr.ParentCommentID != 0 || cr.PostID != c.intParam(parent)):
			cr = nil
		}
	}
	if cr == nil {
		what := "comment"
		if isReply {
			what = "reply"
		}
		return nil, &struct{ rp reply }{notFound(what, id)}
	}
	return cr, nil
}

func getComment(c *stateCall) reply {
	cr, e := c.comment("post_id", false)
	if e != nil {
		return e.rp
	}
	return c.json(c.s.commentView(cr, c.me))
}

func getReply(c *stateCall) reply {
	cr, e := c.comment("comment_id", true)
	if e != nil {
		return e.rp
	}
	return c.json(c.s.commentView(cr, c.me))
}

// addComment stores a comment of the member on p (a reply to parent when
// it is not nil) and notifies the post's followers and the parent's author.
func (c *stateCall) addComment(p *postRec, parent *commentRec) reply {
	var in commentInput
	if err := c.decode(&in); err != nil {
		return unprocessable("the comment could not be read: " + err.Error())
	}
	text, _ := in.text()
	if !p.IsCommentsEnabled || p.IsCommentsClosed {
		return forbidden("comments are closed on this post")
	}
	cm := memberv1.Comment{PostID: p.ID, CommunityMemberID: int(c.me), BodyText: text, Editor: "tiptap"}
	if parent != nil {
		cm.ParentCommentID = parent.ID
	}
	cr, err := c.s.addComment(cm)
	if err != nil {
		return notFound("post", p.ID)
	}
	if _, ok := p.followers[c.me]; !ok {
		p.followers[c.me] = c.c.next("post_follower")
	}
	told := map[int64]bool{c.me: true}
	tell := func(member int64, action, display string) {
		if told[member] || !c.s.active(member) {
			return
		}
		told[member] = true
		c.s.notify(&c.ev, member, memberv1.Notification{
			Action: action, DisplayAction: display, ActorName: c.s.memberName(c.me),
			NotifiableID: cr.ID, NotifiableType: "Comment", NotifiableTitle: p.Name,
			SpaceID: p.Space.ID, SpaceTitle: p.Space.Name, ActionWebURL: p.URL,
			Notifiable: memberv1.Notifiable{ID: cr.ID, SpaceID: p.Space.ID, CommunityID: int(c.s.communityID), ParentCommentID: cr.ParentCommentID},
		})
	}
	if parent != nil {
		tell(parent.author, "reply", "replied to your comment")
	}
	var followers []int64
	for m := range p.followers {
		followers = append(followers, m)
	}
	slices.Sort(followers)
	for _, m := range followers {
		tell(m, "comment", "commented on a post you follow")
	}
	return c.jsonStatus(c.op.status, c.s.commentView(cr, c.me))
}

func createComment(c *stateCall) reply {
	p, rp := c.post("post_id")
	if rp != nil {
		return *rp
	}
	return c.addComment(p, nil)
}

func createReply(c *stateCall) reply {
	parent := c.c.comments[c.intParam("comment_id")]
	if parent == nil || parent.ParentCommentID != 0 {
		return notFound("comment", c.params["comment_id"])
	}
	p := c.c.posts[parent.PostID]
	if p == nil {
		return notFound("comment", parent.ID)
	}
	if sp := c.c.spaces[p.Space.ID]; sp == nil || !sp.canSee(c.me) {
		return notFound("comment", parent.ID)
	}
	return c.addComment(p, parent)
}

func (c *stateCall) updateComment(cr *commentRec) reply {
	if cr.author != c.me {
		return forbidden("only the author may edit the comment")
	}
	var in commentInput
	if err := c.decode(&in); err != nil {
		return unprocessable("the comment could not be read: " + err.Error())
	}
	if text, ok := in.text(); ok {
		cr.BodyText = text
		cr.Body.HTML = "<p>" + text + "</p>"
	}
	cr.UpdatedAt = c.now
	return c.json(c.s.commentView(cr, c.me))
}

func updateComment(c *stateCall) reply {
	cr, e := c.comment("post_id", false)
	if e != nil {
		return e.rp
	}
	return c.updateComment(cr)
}

func updateReply(c *stateCall) reply {
	cr, e := c.comment("comment_id", true)
	if e != nil {
		return e.rp
	}
	return c.updateComment(cr)
}

func (c *stateCall) deleteComment(cr *commentRec) reply {
	if cr.author != c.me {
		return forbidden("only the author may delete the comment")
	}
	c.c.deleteComment(cr)
	return c.json(ok("Comment deleted."))
}

func deleteComment(c *stateCall) reply {
	cr, e := c.comment("post_id", false)
	if e != nil {
		return e.rp
	}
	return c.deleteComment(cr)
}

func deleteReply(c *stateCall) reply {
	cr, e := c.comment("comment_id", true)
	if e != nil {
		return e.rp
	}
	return c.deleteComment(cr)
}

func listCommentReplies(c *stateCall) reply {
	parent, rp := c.likeable() // a comment the member can see
	if rp != nil {
		return *rp
	}
	return page(c, c.comments(parent.replies), map[string]any{"sort": cmp.Or(c.query.Get("sort"), "oldest")})
}

func listMemberComments(c *stateCall) reply {
	member := int64(c.intParam("community_member_id"))
	if !c.s.active(member) {
		return notFound("community member", member)
	}
	var ids []int
	for id, cr := range c.c.comments {
		if cr.author != member {
			continue
		}
		if p := c.c.posts[cr.PostID]; p != nil {
			if sp := c.c.spaces[p.Space.ID]; sp != nil && sp.canSee(c.me) {
				ids = append(ids, id)
			}
		}
	}
	out := c.comments(ids)
	sortComments(out, "latest")
	return page(c, out, nil)
}

// likeable finds the comment named by the path parameter comment_id, in
// a space the member can see.
func (c *stateCall) likeable() (*commentRec, *reply) {
	id := c.intParam("comment_id")
	cr := c.c.comments[id]
	if cr != nil {
		if p := c.c.posts[cr.PostID]; p == nil || c.c.spaces[p.Space.ID] == nil || !c.c.spaces[p.Space.ID].canSee(c.me) {
			cr = nil
		}
	}
	if cr == nil {
		rp := notFound("comment", id)
		return nil, &rp
	}
	return cr, nil
}

func likeComment(c *stateCall) reply {
	cr, rp := c.likeable()
	if rp != nil {
		return *rp
	}
	if !slices.Contains(cr.likers, c.me) {
		cr.likers = append(cr.likers, c.me)
		if cr.author != 0 && cr.author != c.me {
			p := c.c.posts[cr.PostID]
			c.s.notify(&c.ev, cr.author, memberv1.Notification{
				Action: "like", DisplayAction: "liked your comment", ActorName: c.s.memberName(c.me),
				NotifiableID: cr.ID, NotifiableType: "Comment", NotifiableTitle: p.Name,
				SpaceID: p.Space.ID, SpaceTitle: p.Space.Name, ActionWebURL: p.URL,
				Notifiable: memberv1.Notifiable{ID: cr.ID, SpaceID: p.Space.ID, CommunityID: int(c.s.communityID), ParentCommentID: cr.ParentCommentID},
			})
		}
	}
	return c.json(ok("Comment liked."))
}

func unlikeComment(c *stateCall) reply {
	cr, rp := c.likeable()
	if rp != nil {
		return *rp
	}
	cr.likers = slices.DeleteFunc(cr.likers, func(m int64) bool { return m == c.me })
	return c.json(ok("Comment unliked."))
}

func listCommentLikes(c *stateCall) reply {
	cr, rp := c.likeable()
	if rp != nil {
		return *rp
	}
	return c.likers(cr.likers)
}

func createFlaggedContent(c *stateCall) reply {
	var in memberv1.CreateFlaggedContentJSONBody
	if err := c.decode(&in); err != nil {
		return unprocessable("the report could not be read: " + err.Error())
	}
	id := in.FlaggedContent.FlaggedContentableID
	switch in.FlaggedContent.FlaggedContentableType {
	case "Post":
		p := c.c.posts[id]
		if p == nil {
			return notFound("post", id)
		}
		p.UnresolvedFlaggedReportsCount++
	case "Comment":
		cr := c.c.comments[id]
		if cr == nil {
			return notFound("comment", id)
		}
		cr.UnresolvedFlaggedReportsCount++
	}
	return c.jsonStatus(c.op.status, memberv1.MessageResult{Message: "Thank you for reporting. A moderator will review it."})
}

// --- bookmarks ---

func (s *Server) bookmarkView(b *bookmarkRec) memberv1.Bookmark {
	v := b.Bookmark
	switch b.BookmarkableType {
	case "post":
		if p := s.c.posts[b.RecordID]; p != nil {
			v.BookmarkRecord = memberv1.BookmarkRecord{
				ID: p.ID, Name: p.Name, Slug: p.Slug, Body: p.BodyPlainText, CreatedAt: p.CreatedAt,
				Author: memberv1.AuthorSummary{CommunityMemberID: int(p.author), Name: s.memberName(p.author)},
			}
		}
	case "comment":
		if cr := s.c.comments[b.RecordID]; cr != nil {
			v.BookmarkRecord = memberv1.BookmarkRecord{
				ID: cr.ID, Body: cr.BodyText, CreatedAt: cr.CreatedAt,
				Author: memberv1.AuthorSummary{CommunityMemberID: int(cr.author), Name: s.memberName(cr.author)},
			}
		}
	}
	return v
}

func listBookmarks(c *stateCall) reply {
	kind := c.query.Get("bookmark_type")
	var recs []*bookmarkRec
	for _, b := range c.c.bookmarks {
		if b.owner == c.me && (kind == "" || b.BookmarkableType == kind) {
			recs = append(recs, b)
		}
	}
	slices.SortFunc(recs, func(a, b *bookmarkRec) int { return newestFirst(a.CreatedAt, b.CreatedAt, a.ID, b.ID) })
	out := make([]memberv1.Bookmark, len(recs))
	for i, b := range recs {
		out[i] = c.s.bookmarkView(b)
	}
	return page(c, out, nil)
}

func createBookmark(c *stateCall) reply {
	var in memberv1.CreateBookmarkJSONBody
	if err := c.decode(&in); err != nil {
		return unprocessable("the bookmark could not be read: " + err.Error())
	}
	kind := string(in.BookmarkType)
	switch kind {
	case "post":
		if c.c.posts[in.RecordID] == nil {
			return notFound("post", in.RecordID)
		}
	case "comment":
		if c.c.comments[in.RecordID] == nil {
			return notFound("comment", in.RecordID)
		}
	}
	if id := c.s.bookmarkOf(c.me, kind, in.RecordID); id != 0 {
		return c.jsonStatus(c.op.status, c.s.bookmarkView(c.c.bookmarks[id]))
	}
	b := &bookmarkRec{owner: c.me, Bookmark: memberv1.Bookmark{
		ID: c.c.next("bookmark"), RecordID: in.RecordID, BookmarkableType: kind,
		CommunityMemberID: int(c.me), CommunityID: int(c.s.communityID), CreatedAt: c.now,
	}}
	c.c.bookmarks[b.ID] = b
	c.c.bookmarkIDs[bookmarkKey{c.me, kind, in.RecordID}] = b.ID
	return c.jsonStatus(c.op.status, c.s.bookmarkView(b))
}

func deleteBookmark(c *stateCall) reply {
	id := c.intParam("id")
	b := c.c.bookmarks[id]
	if b == nil || b.owner != c.me {
		return notFound("bookmark", id)
	}
	c.c.deleteBookmark(b)
	return c.empty()
}

// --- members and profiles ---

func (c *stateCall) memberIDs() []int64 {
	var ids []int64
	for id := range c.s.members {
		if c.s.active(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (s *Server) countsOf(member int64) (posts, comments, spaces int) {
	for _, p := range s.c.posts {
		if p.author == member {
			posts++
		}
	}
	for _, cr := range s.c.comments {
		if cr.author == member {
			comments++
		}
	}
	for _, sp := range s.c.spaces {
		if _, in := sp.members[member]; in {
			spaces++
		}
	}
	return
}

func getCurrentMember(c *stateCall) reply {
	posts, comments, spaces := c.s.countsOf(c.me)
	bookmarks := 0
	for _, b := range c.c.bookmarks {
		if b.owner == c.me {
			bookmarks++
		}
	}
	p := c.c.profiles[c.me]
	return c.json(memberv1.CurrentCommunityMember{
		ID: int(c.me), Name: c.s.memberName(c.me), Headline: c.s.headline(c.me), AvatarURL: c.s.avatar(c.me),
		Active: p == nil || !p.deactivated, PostsCount: posts, CommentsCount: comments, SpacesCount: spaces,
		BookmarksCount: bookmarks, PublicUID: fmt.Sprintf("m%d", c.me),
	})
}

func getMemberProfile(c *stateCall) reply {
	id := int64(c.intParam("community_member_id"))
	if !c.s.active(id) {
		return notFound("community member", id)
	}
	posts, comments, spaces := c.s.countsOf(id)
	v := memberv1.PublicProfile{
		ID: int(id), Name: c.s.memberName(id), Headline: c.s.headline(id), AvatarURL: c.s.avatar(id),
		PostsCount: posts, CommentsCount: comments, SpacesCount: spaces, MessagingEnabled: c.s.messaging(id),
		CanReceiveDmFromCurrentMember: c.s.messaging(id) && id != c.me,
	}
	if p := c.c.profiles[id]; p == nil || p.visible == nil || *p.visible {
		v.Email = c.s.members[id].Email
	}
	return c.json(v)
}

func (s *Server) messaging(id int64) bool {
	p := s.c.profiles[id]
	return p == nil || p.messaging == nil || *p.messaging
}

func (c *stateCall) basic(id int64) memberv1.BasicCommunityMember {
	return memberv1.BasicCommunityMember{
		CommunityMemberID: int(id), Name: c.s.memberName(id), Email: c.s.members[id].Email,
		Headline: c.s.headline(id), AvatarURL: c.s.avatar(id), MessagingEnabled: c.s.messaging(id),
		CanReceiveDmFromCurrentMember: c.s.messaging(id) && id != c.me,
	}
}

// directory lists the members visible in the directory whose name,
// email or headline holds text, ordered by sort.
func (c *stateCall) directory(text string, spaceID int, sort string) []int64 {
	var out []int64
	for _, id := range c.memberIDs() {
		if p := c.c.profiles[id]; p != nil && p.visible != nil && !*p.visible && id != c.me {
			continue
		}
		if spaceID != 0 {
			sp := c.c.spaces[spaceID]
			if sp == nil {
				continue
			}
			if _, in := sp.members[id]; !in {
				continue
			}
		}
		if text != "" && !contains(c.s.memberName(id), text) && !contains(c.s.members[id].Email, text) && !contains(c.s.headline(id), text) {
			continue
		}
		out = append(out, id)
	}
	switch sort {
	case "alphabetical":
		slices.SortStableFunc(out, func(a, b int64) int {
			return strings.Compare(strings.ToLower(c.s.memberName(a)), strings.ToLower(c.s.memberName(b)))
		})
	case "latest":
		slices.Reverse(out)
	}
	return out
}

func listCommunityMembers(c *stateCall) reply {
	spaceID, _ := strconv.Atoi(c.query.Get("space_id"))
	sort := cmp.Or(c.query.Get("sort"), "alphabetical")
	var out []memberv1.BasicCommunityMember
	for _, id := range c.directory(c.query.Get("search_text"), spaceID, sort) {
		out = append(out, c.basic(id))
	}
	return page(c, out, map[string]any{"sort": sort})
}

func searchCommunityMembers(c *stateCall) reply {
	var in memberv1.SearchCommunityMembersJSONBody
	if err := c.decode(&in); err != nil {
		return unprocessable("the search could not be read: " + err.Error())
	}
	text := in.SearchText
	sort := map[string]string{"alphabetical": "alphabetical", "latest": "latest"}[string(in.Order)]
	var out []memberv1.SearchedMember
	for _, id := range c.directory(text, 0, sort) {
		out = append(out, memberv1.SearchedMember{
			ID: int(id), CommunityMemberID: int(id), Name: c.s.memberName(id), Headline: c.s.headline(id),
			AvatarURL: c.s.avatar(id), PublicUID: fmt.Sprintf("m%d", id),
		})
	}
	return page(c, out, nil)
}

func updateProfile(c *stateCall) reply {
	var in struct {
		CommunityMember memberv1.ProfileUpdate `json:"community_member"`
	}
	if err := c.decode(&in); err != nil {
		return unprocessable("the profile could not be read: " + err.Error())
	}
	p := c.c.profiles[c.me]
	if p == nil {
		p = &profile{}
		c.c.profiles[c.me] = p
	}
	u := in.CommunityMember
	if u.Name != nil {
		p.name = u.Name
	}
	if u.Headline != nil {
		p.headline = u.Headline
	}
	if u.Avatar != nil {
		avatar := *u.Avatar
		if blob := c.c.blobs[avatar]; blob != nil {
			avatar = blob.URL // an uploaded file, named by its signed id
		}
		p.avatar = &avatar
	}
	if u.TimeZone != nil {
		p.timeZone = u.TimeZone
	}
	if u.Preferences.MessagingEnabled != nil {
		p.messaging = u.Preferences.MessagingEnabled
	}
	if u.Preferences.VisibleInMemberDirectory != nil {
		p.visible = u.Preferences.VisibleInMemberDirectory
	}
	if c.op.id == "confirmProfile" {
		p.confirmed = true
	}
	name := c.s.memberName(c.me)
	first, last, _ := strings.Cut(name, " ")
	return c.json(memberv1.ProfileUpdateResponse{
		Message: "Profile updated.",
		CurrentCommunityMember: memberv1.UpdatedCommunityMember{
			ID: int(c.me), CommunityMemberID: int(c.me), Name: name, FirstName: first, LastName: last,
			Headline: c.s.headline(c.me), AvatarURL: c.s.avatar(c.me), MessagingEnabled: c.s.messaging(c.me),
			MessagingEnabledByMember: c.s.messaging(c.me), MessagingEnabledByAdmin: true,
			VisibleInMemberDirectory: p.visible == nil || *p.visible, PublicUID: fmt.Sprintf("m%d", c.me),
		},
	})
}

func deactivateCurrentMember(c *stateCall) reply {
	p := c.c.profiles[c.me]
	if p == nil {
		p = &profile{}
		c.c.profiles[c.me] = p
	}
	p.deactivated = true
	return c.json(memberv1.MemberDeactivated{Success: true})
}

// --- search ---

func searchCommunity(c *stateCall) reply {
	text := c.query.Get("search_text")
	var out []memberv1.SearchResult
	add := func(from func(*memberv1.SearchResult) error) {
		var r memberv1.SearchResult
		if from(&r) == nil {
			out = append(out, r)
		}
	}
	for _, p := range c.posts(func(p *postRec) bool {
		return p.Status != "draft" && text != "" && (contains(p.Name, text) || contains(p.BodyPlainText, text))
	}) {
		add(func(r *memberv1.SearchResult) error {
			return r.FromSearchedPost(memberv1.SearchedPost{ID: strconv.Itoa(p.ID), Attributes: memberv1.SearchedPostAttributes{
				ID: p.ID, Name: p.Name, Body: p.BodyPlainText, Slug: p.Slug, PostType: p.PostType, CreatedAt: p.CreatedAt,
				CommentsCount: p.CommentCount, CommunityID: int(c.s.communityID),
				Author: memberv1.MemberPreview{ID: p.Author.ID, CommunityMemberID: p.Author.ID, Name: p.Author.Name},
			}})
		})
	}
	var ids []int
	for id, cr := range c.c.comments {
		if text != "" && contains(cr.BodyText, text) {
			ids = append(ids, id)
		}
	}
	for _, cm := range c.comments(ids) {
		if p := c.c.posts[cm.PostID]; p == nil || c.c.spaces[p.Space.ID] == nil || !c.c.spaces[p.Space.ID].canSee(c.me) {
			continue
		}
		add(func(r *memberv1.SearchResult) error {
			return r.FromSearchedComment(memberv1.SearchedComment{ID: strconv.Itoa(cm.ID), Attributes: memberv1.SearchedCommentAttributes{
				ID: cm.ID, BodyText: cm.BodyText, PostID: cm.PostID, PostName: cm.PostName, SpaceID: cm.SpaceID,
				ParentCommentID: cm.ParentCommentID, CommunityID: int(c.s.communityID),
				Author: memberv1.SearchedCommentAttributesAuthor{ID: cm.Author.ID, Name: cm.Author.Name},
			}})
		})
	}
	for _, id := range c.directory(text, 0, "alphabetical") {
		if text == "" {
			break
		}
		add(func(r *memberv1.SearchResult) error {
			return r.FromSearchedCommunityMember(memberv1.SearchedCommunityMember{ID: strconv.FormatInt(id, 10), Attributes: memberv1.SearchedCommunityMemberAttributes{
				CommunityMemberID: int(id), Headline: c.s.headline(id), AvatarURL: c.s.avatar(id), Name: c.s.memberName(id),
			}})
		})
	}
	for _, sp := range c.visibleSpaces() {
		if text == "" || !contains(sp.Name, text) {
			continue
		}
		add(func(r *memberv1.SearchResult) error {
			return r.FromSearchedSpace(memberv1.SearchedSpace{ID: strconv.Itoa(sp.ID), Attributes: memberv1.SearchedSpaceAttributes{
				ID: sp.ID, Name: sp.Name, Slug: sp.Slug,
			}})
		})
	}
	return page(c, out, nil)
}

// --- notifications ---

func listNotifications(c *stateCall) reply {
	status := c.query.Get("status")
	var recs []*notificationRec
	for _, n := range c.c.notifications {
		if n.owner != c.me || n.archived {
			continue
		}
		if status == "read" && n.ReadAt.IsZero() || status == "unread" && !n.ReadAt.IsZero() {
			continue
		}
		recs = append(recs, n)
	}
	slices.SortFunc(recs, func(a, b *notificationRec) int {
		if c.query.Get("sort") == "oldest" {
			return -newestFirst(a.CreatedAt, b.CreatedAt, a.ID, b.ID)
		}
		return newestFirst(a.CreatedAt, b.CreatedAt, a.ID, b.ID)
	})
	out := make([]memberv1.Notification, len(recs))
	for i, n := range recs {
		out[i] = n.Notification
	}
	return page(c, out, nil)
}

func getNewNotificationsCount(c *stateCall) reply {
	return c.json(c.s.newCountView(c.me))
}

func resetNewNotificationsCount(c *stateCall) reply {
	c.c.resetNewCount(c.me)
	v := c.s.newCountView(c.me)
	c.ev.add(c.me, channelNotifications, eventUpdateNewNotificationCount, v)
	return c.json(memberv1.ResetNewNotificationsCount{NewNotificationsCount: 0})
}

func (c *stateCall) notification() (*notificationRec, *reply) {
	id := c.intParam("id")
	n := c.c.notifications[id]
	if n == nil || n.owner != c.me {
		rp := notFound("notification", id)
		return nil, &rp
	}
	return n, nil
}

func markNotificationRead(c *stateCall) reply {
	n, rp := c.notification()
	if rp != nil {
		return *rp
	}
	if n.ReadAt.IsZero() {
		n.ReadAt = c.now
	}
	return c.json(n.Notification)
}

func markAllNotificationsRead(c *stateCall) reply {
	var in memberv1.NotificationsMarkAllAsReadParams
	if err := c.decode(&in); err != nil {
		return unprocessable("the request could not be read: " + err.Error())
	}
	for _, n := range c.c.notifications {
		if n.owner != c.me || !n.ReadAt.IsZero() {
			continue
		}
		if in.NotificationType != "" && n.Action != in.NotificationType {
			continue
		}
		if in.ParentNotifiable.ID != 0 && (n.NotifiableID != in.ParentNotifiable.ID || (in.ParentNotifiable.Type != "" && n.NotifiableType != in.ParentNotifiable.Type)) {
			continue
		}
		n.ReadAt = c.now
	}
	c.c.resetNewCount(c.me)
	c.ev.add(c.me, channelNotifications, eventResetNewNotificationCount, c.s.newCountView(c.me))
	return c.json(map[string]any{})
}

func archiveNotification(c *stateCall) reply {
	n, rp := c.notification()
	if rp != nil {
		return *rp
	}
	n.archived = true
	if n.ReadAt.IsZero() {
		n.ReadAt = c.now
	}
	return c.json(n.Notification)
}

func deleteNotification(c *stateCall) reply {
	n, rp := c.notification()
	if rp != nil {
		return *rp
	}
	delete(c.c.notifications, n.ID)
	return c.json(n.Notification)
}

// notificationKinds are the kinds of notification a member can switch,
// from the spec's enum of updateNotificationPreference's type parameter.
func (c *stateCall) notificationKinds() []string {
	var kinds []string
	if op := c.s.member.ops["updateNotificationPreference"]; op != nil {
		if p := op.route.Operation.Parameters.GetByInAndName("query", "type"); p != nil && p.Schema != nil && p.Schema.Value != nil {
			for _, e := range p.Schema.Value.Enum {
				if s, ok := e.(string); ok {
					kinds = append(kinds, s)
				}
			}
		}
	}
	return kinds
}

func (c *stateCall) enabled(medium, kind string) bool {
	v, set := c.c.prefs[prefKey{c.me, medium, kind}]
	return !set || v
}

func (c *stateCall) spaceChoice(medium string, spaceMemberID int) string {
	return cmp.Or(c.c.spacePrefs[spacePrefKey{c.me, medium, spaceMemberID}], "all")
}

func getNotificationPreferences(c *stateCall) reply {
	medium := c.params["medium"]
	var v memberv1.MediumNotificationPreferences
	for i, k := range c.notificationKinds() {
		v.NotificationPreference = append(v.NotificationPreference, memberv1.NotificationPreference{Type: i + 1, Name: k, Enabled: c.enabled(medium, k)})
	}
	for _, sp := range c.visibleSpaces() {
		if id, in := sp.members[c.me]; in {
			v.SpacePreferences = append(v.SpacePreferences, memberv1.SpacePreference{
				ID: id, SpaceID: sp.ID, SpaceName: sp.Name, Choice: c.spaceChoice(medium, id), IsChatSpace: sp.SpaceType == "chat",
			})
		}
	}
	return c.json(v)
}

func updateNotificationPreference(c *stateCall) reply {
	enabled, _ := strconv.ParseBool(c.query.Get("enabled"))
	c.c.prefs[prefKey{c.me, c.params["medium"], c.query.Get("type")}] = enabled
	return c.json(memberv1.MediumNotificationPreferencesUpdate{Success: true, Message: "Preference updated."})
}

func updateSpaceNotificationPreference(c *stateCall) reply {
	sp := c.spaceByMemberID(c.intParam("id"))
	if sp == nil {
		return notFound("space member", c.params["id"])
	}
	c.c.spacePrefs[spacePrefKey{c.me, c.params["notification_preference_medium"], sp.members[c.me]}] = c.query.Get("choice")
	return c.json(memberv1.MediumSpaceNotificationPreferencesUpdate{Success: true, Message: "Preference updated."})
}

func updateAllSpacesNotificationPreference(c *stateCall) reply {
	medium := c.params["notification_preference_medium"]
	for _, sp := range c.c.spaces {
		if id, in := sp.members[c.me]; in {
			c.c.spacePrefs[spacePrefKey{c.me, medium, id}] = c.query.Get("choice")
		}
	}
	return c.json(memberv1.MediumSpaceNotificationPreferencesUpdateAll{Success: true, Message: "Preferences updated."})
}

func getSpaceMemberNotificationPreferences(c *stateCall) reply {
	sp := c.spaceByMemberID(c.intParam("id"))
	if sp == nil {
		return notFound("space member", c.params["id"])
	}
	id := sp.members[c.me]
	return c.json(memberv1.SpaceMemberNotificationPreferences{InApp: c.spaceChoice("in_app", id), Push: c.spaceChoice("push", id)})
}

// --- chat ---

func (c *stateCall) myRooms() []*roomRec {
	var out []*roomRec
	for _, r := range c.c.rooms {
		if r.part(c.me) != nil {
			out = append(out, r)
		}
	}
	last := func(r *roomRec) (time.Time, int) {
		msgs := c.s.roomMessages(r.uuid)
		if len(msgs) == 0 {
			return r.created, 0
		}
		m := msgs[len(msgs)-1]
		return m.SentAt, m.ID
	}
	slices.SortFunc(out, func(a, b *roomRec) int {
		ta, ia := last(a)
		tb, ib := last(b)
		if n := tb.Compare(ta); n != 0 {
			return n
		}
		if n := cmp.Compare(ib, ia); n != 0 {
			return n
		}
		return cmp.Compare(b.id, a.id)
	})
	return out
}

func listChatRooms(c *stateCall) reply {
	var out []memberv1.ChatRoom
	for _, r := range c.myRooms() {
		if r.embedded {
			continue // a live room's chat is reached from the live room
		}
		out = append(out, c.s.roomView(r, c.me))
	}
	return page(c, out, nil)
}

func (c *stateCall) room(param string) (*roomRec, *reply) {
	r := c.c.rooms[c.params[param]]
	if r == nil || r.part(c.me) == nil {
		rp := notFound("chat room", c.params[param])
		return nil, &rp
	}
	return r, nil
}

func getChatRoom(c *stateCall) reply {
	r, rp := c.room("uuid")
	if rp != nil {
		return *rp
	}
	return c.json(c.s.roomView(r, c.me))
}

func createChatRoom(c *stateCall) reply {
	var in memberv1.CreateChatRoomJSONBody
	if err := c.decode(&in); err != nil {
		return unprocessable("the chat room could not be read: " + err.Error())
	}
	members := []int64{c.me}
	for _, raw := range in.ChatRoom.CommunityMemberIds {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || !c.s.active(id) {
			return unprocessable(fmt.Sprintf("no community member %q", raw))
		}
		if !slices.Contains(members, id) {
			members = append(members, id)
		}
	}
	kind := in.ChatRoom.Kind
	if kind != "direct" && kind != "group_chat" {
		kind = "" // chosen by the number of participants
	}
	if kind == "direct" || (kind == "" && len(members) == 2) {
		// One direct room per pair of members, as on Circle.
		for _, r := range c.c.rooms {
			if r.kind == "direct" && !r.embedded && len(r.parts) == len(members) && r.part(members[0]) != nil && r.part(members[len(members)-1]) != nil {
				return c.json(c.s.roomView(r, c.me))
			}
		}
	}
	r := c.s.addRoom(&c.ev, memberv1.ChatRoomDetails{ChatRoomKind: kind}, members, false)
	if text := richText(in.ChatRoom.RichTextBody); text != "" {
		c.s.addMessage(&c.ev, r, c.me, memberv1.ChatRoomMessage{RichTextBody: in.ChatRoom.RichTextBody})
	}
	return c.json(c.s.roomView(r, c.me))
}

func listUnreadChatRooms(c *stateCall) reply {
	out := memberv1.UnreadChatRooms{ChatRooms: []string{}}
	for _, r := range c.myRooms() {
		if !r.embedded && c.s.roomView(r, c.me).ChatRoom.UnreadMessagesCount > 0 {
			out.ChatRooms = append(out.ChatRooms, r.uuid)
		}
	}
	return c.json(out)
}

func markChatRoomRead(c *stateCall) reply {
	r, rp := c.room("uuid")
	if rp != nil {
		return *rp
	}
	msgs := c.s.roomMessages(r.uuid)
	if len(msgs) > 0 {
		r.part(c.me).lastRead = msgs[len(msgs)-1].ID
	}
	c.ev.add(c.me, channelChatRooms, eventChatRoomRead, c.s.roomView(r, c.me))
	return c.json(map[string]any{})
}

// listChatMessages answers a window of the room's history, oldest first:
// around the message id when given (previous_per_page before it, the
// message, next_per_page after it), else the newest previous_per_page.
func listChatMessages(c *stateCall) reply {
	r, rp := c.room("chat_room_uuid")
	if rp != nil {
		return *rp
	}
	msgs := c.s.roomMessages(r.uuid)
	before := positive(c.query.Get("previous_per_page"), 20)
	after := positive(c.query.Get("next_per_page"), 20)
	from, to := max(0, len(msgs)-before), len(msgs)
	var id int
	if raw := c.query.Get("id"); raw != "" {
		id, _ = strconv.Atoi(raw)
		i, _ := slices.BinarySearchFunc(msgs, id, func(m *messageRec, id int) int { return cmp.Compare(m.ID, id) })
		// i is the first message at or after id.
		from = max(0, i-before)
		end := i
		if i < len(msgs) && msgs[i].ID == id {
			end = i + 1
		}
		to = min(len(msgs), end+after)
	}
	v := memberv1.ChatRoomMessages{ID: id, TotalCount: len(msgs), HasPreviousPage: from > 0, HasNextPage: to < len(msgs), Records: []memberv1.ChatRoomMessage{}}
	for _, m := range msgs[from:to] {
		v.Records = append(v.Records, m.ChatRoomMessage)
	}
	if len(v.Records) > 0 {
		v.FirstID, v.LastID = v.Records[0].ID, v.Records[len(v.Records)-1].ID
	}
	return c.json(v)
}

func (c *stateCall) message() (*roomRec, *messageRec, *reply) {
	r, rp := c.room("chat_room_uuid")
	if rp != nil {
		return nil, nil, rp
	}
	id := c.intParam("id")
	m := c.c.messages[id]
	if m == nil || m.room != r.uuid {
		rp := notFound("chat message", id)
		return nil, nil, &rp
	}
	return r, m, nil
}

func getChatMessage(c *stateCall) reply {
	_, m, rp := c.message()
	if rp != nil {
		return *rp
	}
	return c.json(m.ChatRoomMessage)
}

func createChatMessage(c *stateCall) reply {
	r, rp := c.room("chat_room_uuid")
	if rp != nil {
		return *rp
	}
	var in memberv1.CreateChatMessageJSONBody
	if err := c.decode(&in); err != nil {
		return unprocessable("the message could not be read: " + err.Error())
	}
	if in.ParentMessageID != 0 {
		if parent := c.c.messages[in.ParentMessageID]; parent == nil || parent.room != r.uuid {
			return notFound("chat message", in.ParentMessageID)
		}
	}
	m := c.s.addMessage(&c.ev, r, c.me, memberv1.ChatRoomMessage{RichTextBody: in.RichTextBody, ParentMessageID: in.ParentMessageID})
	for _, p := range r.parts {
		c.ev.add(p.member, channelChatRooms, eventChatRoomUpdated, c.s.roomView(r, p.member))
	}
	return c.jsonStatus(c.op.status, memberv1.ChatMessageAccepted{
		CreationUUID: fmt.Sprintf("%08x-0000-4000-9000-%012x", c.s.communityID, m.ID), SentAt: m.SentAt, ParentMessageID: m.ParentMessageID,
	})
}

func updateChatMessage(c *stateCall) reply {
	r, m, rp := c.message()
	if rp != nil {
		return *rp
	}
	if m.sender != c.me {
		return forbidden("only the sender may edit the message")
	}
	var in struct {
		RichTextBody memberv1.RichTextBody `json:"rich_text_body"`
	}
	if err := c.decode(&in); err != nil {
		return unprocessable("the message could not be read: " + err.Error())
	}
	m.RichTextBody = in.RichTextBody
	m.Body = richText(in.RichTextBody)
	m.EditedAt = c.now
	for _, p := range r.parts {
		c.ev.add(p.member, channelChatRooms, eventChatMessageUpdated, roomMessage{m.ChatRoomMessage, r.id})
	}
	return c.json(m.ChatRoomMessage)
}

func deleteChatMessage(c *stateCall) reply {
	r, m, rp := c.message()
	if rp != nil {
		return *rp
	}
	if m.sender != c.me {
		return forbidden("only the sender may delete the message")
	}
	delete(c.c.messages, m.ID)
	r.msgs = slices.DeleteFunc(r.msgs, func(id int) bool { return id == m.ID })
	for _, p := range r.parts {
		c.ev.add(p.member, channelChatRooms, eventChatMessageDeleted, roomMessage{m.ChatRoomMessage, r.id})
	}
	return c.json(ok("Message deleted."))
}

func listChatParticipants(c *stateCall) reply {
	r, rp := c.room("chat_room_uuid")
	if rp != nil {
		return *rp
	}
	var out []memberv1.ChatRoomParticipant
	for _, p := range r.parts {
		out = append(out, memberv1.ChatRoomParticipant{
			ID: p.id, CommunityMemberID: int(p.member), Name: c.s.memberName(p.member), Email: c.s.members[p.member].Email,
			Headline: c.s.headline(p.member), Admin: p.admin, Muted: p.muted, Archived: p.archived, Status: "active",
		})
	}
	return page(c, out, nil)
}

func updateChatParticipant(c *stateCall) reply {
	r, rp := c.room("chat_room_uuid")
	if rp != nil {
		return *rp
	}
	id := c.intParam("id")
	var p *participantRec
	for _, q := range r.parts {
		if q.id == id {
			p = q
		}
	}
	if p == nil {
		return notFound("chat room participant", id)
	}
	if p.member != c.me && !r.part(c.me).admin {
		return forbidden("only an admin of the room may change another participant")
	}
	var in memberv1.UpdateChatParticipantJSONBody
	if err := c.decode(&in); err != nil {
		return unprocessable("the participant could not be read: " + err.Error())
	}
	if in.Admin != nil {
		p.admin = *in.Admin
	}
	if in.Archived != nil {
		p.archived = *in.Archived
	}
	if in.Muted != nil {
		p.muted = *in.Muted
	}
	for _, q := range r.parts {
		c.ev.add(q.member, channelChatRooms, eventChatRoomUpdated, c.s.roomView(r, q.member))
	}
	return c.json(c.s.roomView(r, c.me))
}

func (c *stateCall) reaction() (*messageRec, string, *reply) {
	var in memberv1.CreateReactionJSONBody
	if err := c.decode(&in); err != nil {
		rp := unprocessable("the reaction could not be read: " + err.Error())
		return nil, "", &rp
	}
	m := c.c.messages[in.ChatRoomMessage]
	if m == nil || c.c.rooms[m.room] == nil || c.c.rooms[m.room].part(c.me) == nil {
		rp := notFound("chat message", in.ChatRoomMessage)
		return nil, "", &rp
	}
	return m, in.Emoji, nil
}

func createReaction(c *stateCall) reply {
	m, emoji, rp := c.reaction()
	if rp != nil {
		return *rp
	}
	i := slices.IndexFunc(m.Reactions, func(r memberv1.ChatMessageReaction) bool { return r.Emoji == emoji })
	if i < 0 {
		m.Reactions = append(m.Reactions, memberv1.ChatMessageReaction{Emoji: emoji})
		i = len(m.Reactions) - 1
	}
	if !slices.Contains(m.Reactions[i].CommunityMemberIds, int(c.me)) {
		m.Reactions[i].CommunityMemberIds = append(m.Reactions[i].CommunityMemberIds, int(c.me))
		m.Reactions[i].Count++
	}
	r := c.c.rooms[m.room]
	for _, p := range r.parts {
		c.ev.add(p.member, channelChatRooms, eventChatMessageUpdated, roomMessage{m.ChatRoomMessage, r.id})
	}
	return c.json(memberv1.ReactionCreated{Success: true, Message: "Reaction added.", Reaction: memberv1.ReactionCreatedReaction{
		CommunityMemberID: int(c.me), Emoji: emoji, ReactionableID: m.ID, ReactionableType: "ChatRoomMessage",
	}})
}

func deleteReaction(c *stateCall) reply {
	m, emoji, rp := c.reaction()
	if rp != nil {
		return *rp
	}
	for i := range m.Reactions {
		r := &m.Reactions[i]
		if r.Emoji == emoji && slices.Contains(r.CommunityMemberIds, int(c.me)) {
			r.CommunityMemberIds = slices.DeleteFunc(r.CommunityMemberIds, func(id int) bool { return id == int(c.me) })
			r.Count--
		}
	}
	m.Reactions = slices.DeleteFunc(m.Reactions, func(r memberv1.ChatMessageReaction) bool { return r.Count <= 0 })
	r := c.c.rooms[m.room]
	for _, p := range r.parts {
		c.ev.add(p.member, channelChatRooms, eventChatMessageUpdated, roomMessage{m.ChatRoomMessage, r.id})
	}
	return c.empty()
}

// --- events ---

func (c *stateCall) event(param string) (*postRec, *reply) {
	id := c.intParam(param)
	p := c.c.posts[id]
	if p == nil || p.PostType != "event" || c.c.spaces[p.Space.ID] == nil || !c.c.spaces[p.Space.ID].canSee(c.me) {
		rp := notFound("event", id)
		return nil, &rp
	}
	return p, nil
}

func listCommunityEvents(c *stateCall) reply {
	past := c.query.Get("past_events") == "true"
	events := c.posts(func(p *postRec) bool {
		if p.PostType != "event" || p.Status == "draft" {
			return false
		}
		if starts := p.EventSettingAttributes.StartsAt; !starts.IsZero() && c.query.Has("past_events") {
			return starts.Before(c.now) == past
		}
		return true
	})
	slices.SortFunc(events, func(a, b memberv1.Post) int {
		if n := a.EventSettingAttributes.StartsAt.Compare(b.EventSettingAttributes.StartsAt); n != 0 {
			return n
		}
		return cmp.Compare(a.ID, b.ID)
	})
	out := make([]memberv1.EventPost, len(events))
	for i, e := range events {
		out[i] = convert[memberv1.EventPost](e)
	}
	return page(c, out, nil)
}

func listEventAttendees(c *stateCall) reply {
	p, rp := c.event("event_id")
	if rp != nil {
		return *rp
	}
	out := make([]memberv1.EventAttendee, len(p.attendees))
	for i, a := range p.attendees {
		out[i] = c.s.attendeeView(a)
	}
	return page(c, out, nil)
}

func (c *stateCall) attend(p *postRec) attendeeRec {
	for _, a := range p.attendees {
		if a.member == c.me {
			return a
		}
	}
	a := attendeeRec{id: c.c.next("event_attendee"), member: c.me, at: c.now}
	p.attendees = append(p.attendees, a)
	return a
}

func createEventAttendee(c *stateCall) reply {
	p, rp := c.event("event_id")
	if rp != nil {
		return *rp
	}
	return c.json(c.s.attendeeView(c.attend(p)))
}

func deleteEventAttendee(c *stateCall) reply {
	p, rp := c.event("event_id")
	if rp != nil {
		return *rp
	}
	i := slices.IndexFunc(p.attendees, func(a attendeeRec) bool { return a.member == c.me })
	if i < 0 {
		return notFound("event attendee", c.me)
	}
	a := p.attendees[i]
	p.attendees = slices.Delete(p.attendees, i, i+1)
	return c.json(c.s.attendeeView(a))
}

func updateRecurringEventAttendance(c *stateCall) reply {
	if _, rp := c.event("event_id"); rp != nil {
		return *rp
	}
	var in memberv1.UpdateRecurringEventAttendanceJSONBody
	if err := c.decode(&in); err != nil {
		return unprocessable("the request could not be read: " + err.Error())
	}
	var events []*postRec
	for _, id := range in.EventIds {
		p := c.c.posts[id]
		if p == nil || p.PostType != "event" {
			return notFound("event", id)
		}
		events = append(events, p)
	}
	for _, p := range events {
		c.attend(p)
	}
	return c.json(memberv1.MessageResult{Message: fmt.Sprintf("RSVP saved for %d events.", len(events))})
}

// --- courses ---

// getLesson answers a synthesised lesson (the fake keeps no courses)
// carrying the member's stored progress.
func getLesson(c *stateCall) reply {
	g := synth{now: c.now}
	m, _ := g.value(c.op.schema, "").(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	echoParams(m, c.op.schema, c.params)
	status := cmp.Or(c.c.progress[progressKey{c.me, c.intParam("course_id"), c.intParam("id")}], "incomplete")
	m["progress"] = map[string]any{"status": status}
	return c.json(m)
}

func updateLessonProgress(c *stateCall) reply {
	var in memberv1.UpdateLessonProgressJSONBody
	if err := c.decode(&in); err != nil {
		return unprocessable("the progress could not be read: " + err.Error())
	}
	c.c.progress[progressKey{c.me, c.intParam("course_id"), c.intParam("lesson_id")}] = string(in.Status)
	return c.json(memberv1.LessonProgress{Status: string(in.Status)})
}

func createQuizAttempt(c *stateCall) reply {
	id := c.c.next("quiz_attempt")
	q := &quizRec{
		QuizAttempt: memberv1.QuizAttempt{ID: id, QuizID: c.intParam("quiz_id"), CreatedAt: c.now},
		quiz:        c.intParam("quiz_id"), member: c.me, at: c.now,
	}
	c.c.quizzes[id] = q
	return c.jsonStatus(c.op.status, q.QuizAttempt)
}

func (c *stateCall) quizAttempt() (*quizRec, *reply) {
	id := c.intParam("id")
	q := c.c.quizzes[id]
	if q == nil || q.quiz != c.intParam("quiz_id") || q.member != c.me {
		rp := notFound("quiz attempt", id)
		return nil, &rp
	}
	return q, nil
}

func getQuizAttempt(c *stateCall) reply {
	q, rp := c.quizAttempt()
	if rp != nil {
		return *rp
	}
	return c.json(q.QuizAttempt)
}

func updateQuizAttempt(c *stateCall) reply {
	q, rp := c.quizAttempt()
	if rp != nil {
		return *rp
	}
	var in memberv1.UpdateQuizAttemptJSONBody
	if err := c.decode(&in); err != nil {
		return unprocessable("the attempt could not be read: " + err.Error())
	}
	if in.Result != nil {
		q.result = string(*in.Result)
		q.Result = q.result
	}
	return c.empty()
}

// listCourseQuizAttempts lists the member's attempts, newest first. The
// fake keeps no courses, so the attempts of every quiz are listed under
// any course.
func listCourseQuizAttempts(c *stateCall) reply {
	var recs []*quizRec
	for _, q := range c.c.quizzes {
		if q.member == c.me {
			recs = append(recs, q)
		}
	}
	slices.SortFunc(recs, func(a, b *quizRec) int { return newestFirst(a.at, b.at, a.ID, b.ID) })
	out := make([]memberv1.QuizAttemptSummary, len(recs))
	for i, q := range recs {
		out[i] = memberv1.QuizAttemptSummary{
			ID: q.ID, QuizID: q.quiz, CreatedAt: q.at, Result: memberv1.QuizAttemptSummaryResult(q.result),
			CommunityMember: memberv1.QuizAttemptSummaryCommunityMember{ID: int(q.member)},
		}
		if q.result == "pending" {
			out[i].Result = ""
		}
	}
	return page(c, out, nil)
}

// --- invitations and live rooms ---

// joinInvitationLink makes the member a member of the spaces of the
// invitation link (seeded with Server.AddInvitationLink).
func joinInvitationLink(c *stateCall) reply {
	token := c.params["token"]
	spaces, ok := c.c.invitations[token]
	if !ok {
		return notFound("invitation link", token)
	}
	var v memberv1.InvitationJoinResult
	for _, id := range spaces {
		if sp := c.c.spaces[id]; sp != nil {
			c.c.join(sp, c.me)
			if v.RedirectToSpaceID == 0 {
				v.RedirectToSpaceID = id
			}
		}
	}
	return c.json(v)
}

// createLiveRoom stores a live room and opens its chat: an embedded chat
// room of the creator and the members invited, named after the room.
func createLiveRoom(c *stateCall) reply {
	var in memberv1.CreateLiveRoomJSONBody
	if err := c.decode(&in); err != nil {
		return unprocessable("the live room could not be read: " + err.Error())
	}
	members := []int64{c.me}
	for _, id := range in.InvitedEntitiesIds.MembersIds {
		if c.s.active(int64(id)) && !slices.Contains(members, int64(id)) {
			members = append(members, int64(id))
		}
	}
	id := c.c.next("live_room")
	chat := c.s.addRoom(&c.ev, memberv1.ChatRoomDetails{
		ID: c.c.next("chat_room"), UUID: fmt.Sprintf("%08x-0000-4000-a000-%012x", c.s.communityID, id),
		ChatRoomName: in.Name, ChatRoomDescription: in.Description, ChatRoomKind: "group_chat",
	}, members, true)
	lr := &memberv1.LiveRoom{
		ID: id, Name: in.Name, Description: in.Description, Slug: cmp.Or(in.Slug, slugify(cmp.Or(in.Name, "live"))),
		AccessType: cmp.Or(string(in.AccessType), "open"), RoomType: cmp.Or(string(in.RoomType), "stream"),
		ViewType: string(in.ViewType), ChatRoomUUID: chat.uuid, CreatedAt: c.now, Status: "live",
		IsCreator: true, CanHost: true, CanManage: true, CanModerate: true,
		Creator:            memberv1.LiveRoomCreator{ID: int(c.me), Headline: c.s.headline(c.me)},
		InvitedEntitiesIds: in.InvitedEntitiesIds.MembersIds,
	}
	if in.RecordingEnabled != nil {
		lr.RecordingEnabled = *in.RecordingEnabled
	}
	if in.MuteOnJoin != nil {
		lr.MuteOnJoin = *in.MuteOnJoin
	}
	if in.LimitURLSharing != nil {
		lr.LimitURLSharing = *in.LimitURLSharing
	}
	c.c.liveRooms[id] = lr
	return c.jsonStatus(c.op.status, lr)
}

// createDirectUpload records an upload's file (its name, type, size and
// checksum; the content itself is never sent to the fake) and answers its
// signed id, which an image post's gallery or a profile's avatar can then
// name. The upload URL it answers accepts nothing.
func createDirectUpload(c *stateCall) reply {
	var in memberv1.CreateDirectUploadJSONBody
	if err := c.decode(&in); err != nil {
		return unprocessable("the upload could not be read: " + err.Error())
	}
	id := c.c.next("blob")
	b := in.Blob
	key := fmt.Sprintf("upload%d", id)
	v := &memberv1.DirectUploadResponse{
		ID: id, Key: key, Filename: b.Filename, ContentType: b.ContentType, ByteSize: b.ByteSize, Checksum: b.Checksum,
		SignedID: fmt.Sprintf("signed-blob-%d", id), AttachableSgid: fmt.Sprintf("sgid-blob-%d", id), CreatedAt: c.now,
		ServiceName: "circletest", URL: fmt.Sprintf("https://uploads.circletest.invalid/%s/%s", key, url.PathEscape(b.Filename)),
		DirectUpload: memberv1.DirectUpload{
			URL:     fmt.Sprintf("https://uploads.circletest.invalid/%s", key),
			Headers: map[string]any{"Content-Type": b.ContentType},
		},
	}
	c.c.blobs[v.SignedID] = v
	return c.json(v)
}
