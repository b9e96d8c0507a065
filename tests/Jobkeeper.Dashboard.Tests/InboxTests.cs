using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>The review inbox: every waiting job's question on one page, answered one after another.</summary>
public sealed class InboxTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    private async Task<string> WaitingJobAsync(string type, string ask)
    {
        var worker = NewId("w-inbox");
        var id = await CreateAsync(type, extra: ""","input":{"episode":42}""");
        var item = await Client.ClaimOneAsync(worker, type);
        var asked = await Client.ActionAsync(id, "prompt", WorkerApi.LeaseBody(item.Token(), ask));
        Assert.True(asked.GetProperty("waiting").GetBoolean(), $"{asked}");
        return id;
    }

    [Fact]
    public async Task The_inbox_answers_three_prompts_in_a_row_recording_reason_confidence_and_who()
    {
        var type = NewType("inbox");
        var first = await WaitingJobAsync(type, ""","key":"mix","question":"Approve the mix of episode 42?","options":["approve","reject"]""");
        var second = await WaitingJobAsync(type, ""","key":"title","question":"What should episode 43 be called?" """);
        var third = await WaitingJobAsync(type, ""","key":"publish","question":"Publish episode 44 now?","options":["yes","later"]""");

        await Page.GotoAsync("/#/inbox");
        var card = (string id) => Page.Locator($"section.prompt[data-job=\"{id}\"]");
        await Expect(card(first)).ToContainTextAsync("Approve the mix of episode 42?");
        await Expect(card(second)).ToContainTextAsync("What should episode 43 be called?");
        await Expect(card(third)).ToContainTextAsync("Publish episode 44 now?");
        // Oldest question first: these three in the order they were asked.
        var order = await Page.Locator("section.prompt[data-job]").EvaluateAllAsync<string[]>("cards => cards.map(c => c.dataset.job)");
        var mine = order.Where(id => id == first || id == second || id == third).ToArray();
        Assert.Equal([first, second, third], mine);

        await card(first).GetByLabel("Reason (optional)").FillAsync("levels are fine");
        await card(first).GetByLabel("Confidence 0–1 (optional)").FillAsync("0.9");
        await card(first).GetByRole(AriaRole.Button, new() { Name = "approve", Exact = true }).ClickAsync();
        await Expect(card(first)).ToHaveCountAsync(0);

        await card(second).GetByLabel("Answer", new() { Exact = true }).FillAsync("Tempo and keys");
        await card(second).GetByRole(AriaRole.Button, new() { Name = "Send answer" }).ClickAsync();
        await Expect(card(second)).ToHaveCountAsync(0);

        await card(third).GetByRole(AriaRole.Button, new() { Name = "later", Exact = true }).ClickAsync();
        await Expect(card(third)).ToHaveCountAsync(0);

        var answered = await Client.GetJobAsync(first);
        Assert.Equal("queued", answered.Str("status"));
        var prompt = answered.GetProperty("prompts")[0];
        Assert.Equal("approve", prompt.GetProperty("answer").GetString());
        Assert.Equal("levels are fine", prompt.Str("reason"));
        Assert.Equal(0.9, prompt.GetProperty("confidence").GetDouble());
        Assert.Equal("dashboard", prompt.Str("answered_by"));
        Assert.Equal("Tempo and keys", (await Client.GetJobAsync(second)).GetProperty("prompts")[0].GetProperty("answer").GetString());
        Assert.Equal("later", (await Client.GetJobAsync(third)).GetProperty("prompts")[0].GetProperty("answer").GetString());
    }
}
