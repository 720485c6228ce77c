/* Step tables shared by the scenarios (see scenarios.h). */
#include "scenarios.h"

const struct sc_step SC_OUT_OPEN_B[] = {
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	/* XEP-0220 2.1.1, XEP-0185 3: key = HMAC-SHA256(SHA-256(secret), "b.test a.test out-1"). */
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"),
	SEND(PA, "<db:result from='b.test' to='a.test' type='valid'/>"),
	END(),
};

const struct sc_step SC_IN_UNTIL_VERIFY[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${in_id}") FEATURES_IN),
	SEND(PI, "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>"),
	/* XEP-0220 2.3: the receiving server asks b.test's authoritative server. */
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"
		   "<db:verify from='a.test' to='b.test' id='${in_id}'>" PEERKEY "</db:verify>"),
	END(),
};

const struct sc_step SC_IN_AUTH_B[] = {
	INCLUDE(SC_IN_UNTIL_VERIFY),
	SEND(PA, "<db:verify from='b.test' to='a.test' id='${in_id}' type='valid'/>"),
	/* XEP-0220 2.4: the verdict goes back on the originating stream. */
	EXPECT(PI, "<db:result from='a.test' to='b.test' type='valid'/>"),
	SEND(PA, "<db:result from='b.test' to='a.test' type='valid'/>"),
	EXPECT_NOTHING(PI),
	EXPECT_NOTHING(PA),
	END(),
};
