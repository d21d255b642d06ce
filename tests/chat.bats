#!/usr/bin/env bats
# chat.bats - the chat protocol as PROTOCOL and SPEC §5, §14 describe it.
# Absence of a line is shown by ordering, never by waiting: a client's
# next line is checked after an action that the daemon must have handled
# later (it answered it, or closed the connection).

setup() {
	load helpers
	use_ports 3
	export CHAT=127.0.0.1:$P1 CHAT2=127.0.0.1:$P2
}

# start_chat [KEYS]: one chat listener "chat" on $CHAT, with extra keys.
start_chat() {
	start_chatd "listeners = ( { name = \"chat\"; protocol = \"chat\"; bind = \"$CHAT\"; ${1:-} } );"
}

@test "a line goes to everyone, the sender included, as NAME: TEXT ending in CRLF" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
name b
expect a \* ${b} joined
send a hello world
expect a ${a}: hello world
expect b ${a}: hello world
send b ünïcødé ✓
expect a ${b}: ünïcødé ✓
expect b ${b}: ünïcødé ✓
EOF
}

@test "the CR before LF is dropped, other CRs are carried" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
sendraw a crlf\r\n
expect a ${a}: crlf
sendraw a in\rside\r\n
expect a ${a}: in\rside
sendraw a two\r\r\n
expect a ${a}: two\r
sendraw a bare lf\n
expect a ${a}: bare lf
EOF
}

@test "several lines in one segment and one line in many segments" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
sendraw a one\ntwo\r\nthree\n
expect a ${a}: one
expect a ${a}: two
expect a ${a}: three
sendraw a sp
sleep 20
sendraw a li
sleep 20
sendraw a t\r
sleep 20
sendraw a \n
expect a ${a}: split
EOF
}

@test "join notices go to the others, never to the newcomer" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
name b
expect a \* ${b} joined
send b first
expect b ${b}: first
expect a ${b}: first
open c ${CHAT}
name c
expect a \* ${c} joined
expect b \* ${c} joined
send c me
expect c ${c}: me
EOF
}

@test "leave notices on close, on EOF and after a reset" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
name b
open c ${CHAT}
name c
open d ${CHAT}
name d
expect a \* ${b} joined
expect a \* ${c} joined
expect a \* ${d} joined
close b
expect a \* ${b} left
shut c
expect_closed c
expect a \* ${c} left
reset d
expect a \* ${d} left
send a alone
expect a ${a}: alone
EOF
}

@test "announce = false: no join or leave notices" {
	start_chat 'announce = false;'
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
name b
send b hi
expect b ${b}: hi
expect a ${b}: hi
send b /quit
expect b \* bye
expect_eof b
send a still here
expect a ${a}: still here
EOF
}

@test "motd lines come first as '* TEXT', then the conversation" {
	start_chat 'motd = "Welcome to chatd!\nBe nice.";'
	tclient <<'EOF'
open a ${CHAT}
name a
expect a \* Welcome to chatd!
expect a \* Be nice\.
open b ${CHAT}
name b
expect b \* Welcome to chatd!
expect b \* Be nice\.
expect a \* ${b} joined
send b hello
expect b ${b}: hello
expect a ${b}: hello
EOF
}

@test "/nick renames: everyone sees '* OLD is now known as NEW', later lines use NEW" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
name b
expect a \* ${b} joined
send a /nick alice
expect a \* ${a} is now known as alice
expect b \* ${a} is now known as alice
send a hi
expect a alice: hi
expect b alice: hi
send a /me waves
expect b \* alice waves
send a /nick Alice.2_x-y
expect b \* alice is now known as Alice\.2_x-y
send b /who
expect b \* users: Alice\.2_x-y, ${b}
close a
expect b \* Alice\.2_x-y left
EOF
}

@test "/nick trims blanks, accepts 32 characters and matches the command without case" {
	start_chat
	export N32=abcdefghijklmnopqrstuvwxyz012345
	tclient <<'EOF'
open a ${CHAT}
name a
sendraw a /nick    carol   \n
expect a \* ${a} is now known as carol
sendraw a /nick \t dave\t \r\n
expect a \* carol is now known as dave
send a /NICK ${N32}
expect a \* dave is now known as ${N32}
send a /Nick erin
expect a \* ${N32} is now known as erin
EOF
}

@test "/nick failures go to the sender only" {
	start_chat
	export N33=abcdefghijklmnopqrstuvwxyz0123456
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
name b
expect a \* ${b} joined
send b /nick Bob
expect b \* ${b} is now known as Bob
expect a \* ${b} is now known as Bob
send a /nick
expect a \* error: usage: /nick NAME
sendraw a /nick    \n
expect a \* error: (usage: /nick NAME|invalid nickname)
send a /nick two words
expect a \* error: invalid nickname
send a /nick bang!
expect a \* error: invalid nickname
send a /nick ${N33}
expect a \* error: invalid nickname
send a /nick naïve
expect a \* error: invalid nickname
send a /nick bob
expect a \* error: nickname in use
send a /nick BOB
expect a \* error: nickname in use
send a done
expect a ${a}: done
expect b ${a}: done
EOF
}

@test "/who lists the room in join order on one line" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
send a /who
expect a \* users: ${a}
open b ${CHAT}
name b
open c ${CHAT}
name c
expect a \* ${b} joined
expect a \* ${c} joined
expect b \* ${c} joined
send c /nick carl
expect a \* ${c} is now known as carl
expect b \* ${c} is now known as carl
send b /WHO
expect b \* users: ${a}, ${b}, carl
close b
expect a \* ${b} left
send a /who
expect a \* users: ${a}, carl
EOF
}

@test "/me sends '* NAME TEXT' to everyone; without text it is a usage error" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
name b
expect a \* ${b} joined
send a /me waves at everyone
expect a \* ${a} waves at everyone
expect b \* ${a} waves at everyone
send a /me
expect a \* error: usage: /me TEXT
send a after
expect a ${a}: after
expect b ${a}: after
EOF
}

@test "/help answers with '* ' lines to the sender only" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
expect a \* \S+ joined
send a /help
send a after
expect a \* .*
expect a \* .*
allow a \* .*
expect a ${a}: after
expect b ${a}: after
EOF
}

@test "unknown commands get '* error: unknown command'" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
expect a \* \S+ joined
send a /frobnicate
expect a \* error: unknown command
send a /exitnow
expect a \* error: unknown command
send a /nickname x
expect a \* error: unknown command
send a /
expect a \* error: unknown command
send a after
expect a ${a}: after
expect b ${a}: after
EOF
}

@test "/exit and /quit: '* bye', then EOF, and the others see the leave" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
name b
open c ${CHAT}
name c
expect a \* ${b} joined
expect a \* ${c} joined
send b /exit
expect b \* ${c} joined
expect b \* bye
expect_eof b
expect a \* ${b} left
send c /QUIT
expect c \* ${b} left
expect c \* bye
expect_eof c
expect a \* ${c} left
EOF
}

@test "empty lines are ignored" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
expect a \* \S+ joined
send a
sendraw a \r\n
sendraw a \n\n\r\n
send a x
expect a ${a}: x
expect b ${a}: x
EOF
}

@test "max_line: exactly max_line bytes pass, with or without CR" {
	start_chat 'max_line = 16;'
	tclient <<'EOF'
open a ${CHAT}
name a
send a 0123456789abcdef
expect a ${a}: 0123456789abcdef
sendraw a 0123456789abcdef\r\n
expect a ${a}: 0123456789abcdef
sendraw a 0123456789abcdeX\r\n
expect a ${a}: 0123456789abcdeX
EOF
}

@test "a line longer than max_line: error to the sender, nothing delivered, connection kept" {
	start_chat 'max_line = 16;'
	export LONG=$(head -c 100000 /dev/zero | tr '\0' x)
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
expect a \* \S+ joined
send a 0123456789abcdefg
expect a \* error: line too long
send a next
expect a ${a}: next
expect b ${a}: next
sendraw a 0123456789abcdefg\r\n
expect a \* error: line too long
send a ${LONG}
expect a \* error: line too long
sendraw a 0123456789
sleep 50
sendraw a 0123456789\n
expect a \* error: line too long
send a /nick ${LONG}
expect a \* error: line too long
send a last
expect a ${a}: last
expect b ${a}: last
EOF
}

@test "NUL bytes and invalid UTF-8 are carried unchanged" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
expect a \* \S+ joined
sendraw a nul\x00byte\n
expect b ${a}: nul\x00byte
sendraw a \xff\xfe\xc3(\xed\xa0\x80\x01\x7f\n
expect b ${a}: \xff\xfe\xc3\(\xed\xa0\x80\x01\x7f
sendraw a \x00\n
expect b ${a}: \x00
EOF
}

@test "a final line without LF before EOF is delivered" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
expect a \* \S+ joined
sendraw a last words
shut a
expect a ${a}: last words
expect_eof a
expect b ${a}: last words
expect b \* ${a} left
EOF
}

@test "a room shared by a TCP and a unix listener; unix clients are unix:N" {
	sockdir
	local dir=$SOCKDIR
	start_chatd "listeners = (
  { name = \"tcp\"; protocol = \"chat\"; bind = \"$CHAT\"; room = \"lobby\"; },
  { name = \"local\"; protocol = \"chat\"; bind = \"unix:$dir/chat.sock\"; room = \"lobby\"; }
);"
	tclient <<'EOF'
open a ${CHAT}
name a
open u unix:${SOCKDIR}/chat.sock
expect a \* (?P<u>unix:[1-9][0-9]*) joined
send u hi from unix
expect a ${u}: hi from unix
expect u ${u}: hi from unix
send a hi from tcp
expect a ${a}: hi from tcp
expect u ${a}: hi from tcp
open v unix:${SOCKDIR}/chat.sock
expect a \* (?!${u} )(?P<v>unix:[1-9][0-9]*) joined
expect u \* ${v} joined
send v /who
expect v \* users: ${a}, ${u}, ${v}
close u
expect a \* ${u} left
expect v \* ${u} left
EOF
}

@test "listeners with different rooms are isolated; nicknames are unique per room" {
	start_chatd "listeners = (
  { name = \"r1\"; protocol = \"chat\"; bind = \"$CHAT\"; },
  { name = \"r2\"; protocol = \"chat\"; bind = \"$CHAT2\"; }
);"
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT2}
name b
send b in r2
expect b ${b}: in r2
send b /nick same
expect b \* ${b} is now known as same
send a /nick SAME
expect a \* ${a} is now known as SAME
send a /who
expect a \* users: SAME
close b
send a in r1
expect a SAME: in r1
EOF
}

@test "max_clients: the newcomer gets '* error: server full' and is closed, nobody is told" {
	start_chat 'max_clients = 2;'
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
name b
expect a \* ${b} joined
open c ${CHAT}
expect c \* error: server full
expect_eof c
send a /who
expect a \* users: ${a}, ${b}
close b
expect a \* ${b} left
open d ${CHAT}
name d
expect a \* ${d} joined
EOF
}

@test "max_connections counts every listener" {
	start_chatd "max_connections = 2;
listeners = (
  { name = \"one\"; protocol = \"chat\"; bind = \"$CHAT\"; room = \"lobby\"; },
  { name = \"two\"; protocol = \"chat\"; bind = \"$CHAT2\"; room = \"lobby\"; }
);"
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT2}
name b
expect a \* ${b} joined
open c ${CHAT}
expect c \* error: server full
expect_eof c
open d ${CHAT2}
expect d \* error: server full
expect_eof d
send a /who
expect a \* users: ${a}, ${b}
EOF
}

@test "idle_timeout: '* error: idle timeout', closed, the others see the leave; input resets it" {
	start_chatd "listeners = (
  { name = \"idle\"; protocol = \"chat\"; bind = \"$CHAT\"; room = \"lobby\"; idle_timeout = 1.5; },
  { name = \"busy\"; protocol = \"chat\"; bind = \"$CHAT2\"; room = \"lobby\"; }
);"
	# a stays silent, k talks every 100 ms for at least 1.6 s (longer than
	# the timeout), so k survives a's timeout by a wide margin even on a
	# loaded machine; once k falls silent, its turn comes.
	{
		cat <<'EOF'
open b ${CHAT2}
name b
send b /who
expect b \* users: ${b}
open a ${CHAT}
name a
open k ${CHAT}
name k
expect b \* ${a} joined
expect b \* ${k} joined
allow b ${k}: .*
allow k \* ${a} left
allow a ${k}: .*
EOF
		for ((i = 1; i <= 16; i++)); do
			echo 'sleep 100'
			echo "send k ping $i"
			echo "expect k \${k}: ping $i"
		done
		cat <<'EOF'
expect a \* ${k} joined
expect a \* error: idle timeout
expect_eof a
send b /who
expect_seen b \* ${a} left
expect b \* users: ${b}, ${k}
expect k \* error: idle timeout
expect_eof k
send b /who
expect_seen b \* ${k} left
expect b \* users: ${b}
EOF
	} | tclient
}

@test "a client reset mid-conversation does not disturb the others" {
	start_chat
	tclient <<'EOF'
open a ${CHAT}
name a
open b ${CHAT}
name b
open c ${CHAT}
name c
expect a \* ${b} joined
expect a \* ${c} joined
expect b \* ${c} joined
allow a ${c}: from c[0-9]+
allow b ${c}: from c[0-9]+
flood c 200 from c
reset c
expect a \* ${c} left
expect b \* ${c} left
send a after
expect b ${a}: after
EOF
}

@test "garbage binary input does not harm the daemon or the other clients" {
	start_chat
	tclient <<'EOF'
open g ${CHAT}
name g
open b ${CHAT}
name b
allow b .*
sendraw g @random:65536
sendraw g @random:7777
sendraw g \n
send g /who
allow g .*
expect g \* users: ${g}, ${b}
reset g
expect b \* ${g} left
send b still fine
expect b ${b}: still fine
EOF
	assert_chatd_alive
}
