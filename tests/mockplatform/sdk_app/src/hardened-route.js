// Backend (Next.js route): the key stays here; the platform's status is passed through, and
// an answer that never arrives whole is a 502 with a JSON body, not a crash.
export async function POST(request) {
  const { agentId, callerName } = await request.json();
  try {
    const tokenResponse = await fetch(`${process.env.NEURA_API_BASE}/api/widget/token`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${process.env.NEURA_API_KEY}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ agentId, callerName }),
    });
    return Response.json(await tokenResponse.json(), { status: tokenResponse.status });
  } catch (error) {
    return Response.json({ error: "Token request failed", detail: error.message }, { status: 502 });
  }
}
