import type { InteractionInput } from '../../src/ingest/index.ts';
import { PLANTED_EFFECTS, SALES_INTENTS } from './effects.ts';
import { createRandom, seedFor, type Random } from './random.ts';
import * as t from './templates.ts';

/**
 * Synthetic canonical interaction records with planted causes (effects.ts, README.md). Each
 * conversation is generated from its own PRNG stream (run seed × index), so the output is
 * deterministic, a conversation does not depend on the ones before it, and memory is constant.
 */

export interface GenerateOptions {
  conversations: number;
  seed: number;
  /** Id prefix; default `gen<seed>`. */
  idPrefix?: string;
  /** Conversations start within [start, start + days). */
  start?: string;
  days?: number;
}

type Message = InteractionInput['messages'][number];
type Event = NonNullable<InteractionInput['events']>[number];
type SourceChannel = NonNullable<InteractionInput['source']>['channel'];
type Tone = 'negative' | 'neutral' | 'positive';

const DEFAULT_START = '2024-01-01T00:00:00Z';
const CSR_POOL = 40;
const sourceWeights: Record<Exclude<SourceChannel, 'ivr' | 'bot'>, number> = { livechat: 38, website: 20, app: 22, social: 8, sms: 6, email: 6 };
const messageChannel: Record<SourceChannel, string> = { livechat: 'chat', website: 'chat', app: 'chat', social: 'social', sms: 'sms', email: 'email', ivr: 'ivr', bot: 'chat' };
// Weight of each hour of the day (UTC): most contacts in the working day, a few at night.
const hourWeights = Object.fromEntries(
  Array.from({ length: 24 }, (_, hour) => [String(hour), hour >= 8 && hour < 20 ? 10 : hour >= 6 && hour < 23 ? 3 : 1]),
) as Record<string, number>;

export function* generateInteractions(options: GenerateOptions): Generator<InteractionInput> {
  for (let index = 0; index < options.conversations; index++) yield generateInteraction(index, options);
}

export function generateInteraction(index: number, options: GenerateOptions): InteractionInput {
  const rng = createRandom(seedFor(options.seed, index));
  return new Conversation(rng, index, options).build();
}

class Conversation {
  private readonly messages: Message[] = [];
  private readonly events: Event[] = [];
  private time: number;
  private channel: string;
  private readonly slots: Record<string, string>;
  private readonly created: number;
  private readonly intent: t.Intent;
  private readonly tone: Tone;
  private readonly source: SourceChannel;

  constructor(
    private readonly rng: Random,
    private readonly index: number,
    private readonly options: GenerateOptions,
  ) {
    const start = Date.parse(options.start ?? DEFAULT_START);
    const day = rng.int(0, (options.days ?? 365) - 1);
    const hour = Number(rng.weighted(hourWeights));
    this.created = start + ((day * 24 + hour) * 3600 + rng.int(0, 3599)) * 1000 + rng.int(0, 999);
    this.time = this.created;
    this.intent = rng.weighted(t.intentWeights);
    const toneDraw = rng.next();
    this.tone = toneDraw < PLANTED_EFFECTS.tone.negativeShare ? 'negative' : toneDraw < PLANTED_EFFECTS.tone.negativeShare + PLANTED_EFFECTS.tone.positiveShare ? 'positive' : 'neutral';
    this.source = rng.chance(PLANTED_EFFECTS.ivr.sourceShare) ? 'ivr' : rng.weighted(sourceWeights);
    this.channel = messageChannel[this.source];
    this.slots = {
      order: `#${rng.int(10000, 99999)}`,
      amount: `$${rng.int(5, 120)}.${String(rng.int(0, 99)).padStart(2, '0')}`,
      days: String(rng.int(2, 14)),
      plan: rng.pick(t.planNames),
      item: rng.pick(t.itemNames),
      percent: String(rng.pick([10, 15, 20, 25])),
      name: '',
      link: `https://acme.example/c/${rng.int(0, 0xffffff).toString(36)}`,
    };
  }

  private fill(template: string): string {
    return template.replace(/\{(\w+)\}/g, (whole, slot: string) => this.slots[slot] ?? whole);
  }

  private advance(minSeconds: number, maxSeconds: number) {
    this.time += this.rng.int(minSeconds * 1000, maxSeconds * 1000);
  }

  /** Appends a message at the current time; returns its 1-based seq. */
  private say(role: Message['role'], text: string, extra: Partial<Message> = {}): number {
    const ts = new Date(this.time).toISOString();
    if (this.channel === 'voice' || (this.channel === 'ivr' && role === 'customer')) {
      this.messages.push({
        role,
        kind: 'voice',
        transcript: text,
        ts,
        channel: this.channel,
        attachment: { mimeType: 'audio/ogg', durationSeconds: Math.max(2, Math.round(text.length / 14)) },
        ...extra,
      });
    } else {
      this.messages.push({ role, text, ts, channel: this.channel, ...extra });
    }
    return this.messages.length;
  }

  private customer(text: string): number {
    this.advance(8, 75);
    return this.say('customer', text);
  }

  private csr(text: string, extra: Partial<Message> = {}): number {
    this.advance(10, 90);
    return this.say('csr', text, extra);
  }

  private customerLine(pool: readonly string[], negativePool: readonly string[]): string {
    return this.fill(this.tone === 'negative' && this.rng.chance(0.5) ? this.rng.pick(negativePool) : this.rng.pick(pool));
  }

  build(): InteractionInput {
    const { rng } = this;
    const effects = PLANTED_EFFECTS;
    const csrNumber = rng.int(1, CSR_POOL);
    const csrId = `csr-${String(csrNumber).padStart(2, '0')}`;
    this.slots.name = t.csrNames[csrNumber % t.csrNames.length]!;

    // Opening: the IVR menu and a spoken reason, then (mostly) an SMS link into chat.
    const opener = this.fill(rng.pick(t.openers[this.intent]));
    const prefix = this.tone === 'negative' ? rng.pick(t.negativePrefixes) : this.tone === 'positive' && rng.chance(0.6) ? rng.pick(t.positivePrefixes) : '';
    let ivrConverted: boolean | undefined;
    if (this.source === 'ivr') {
      this.say('system', rng.pick(t.ivrPrompts));
      this.advance(5, 20);
      this.say('customer', prefix + opener);
      ivrConverted = rng.chance(effects.ivr.convertToChat);
      if (ivrConverted) {
        this.advance(3, 10);
        this.channel = 'sms';
        this.say('system', this.fill(t.ivrChatOffer));
        this.events.push({ type: 'channel_changed', ts: new Date(this.time).toISOString(), seq: this.messages.length, from: 'ivr', to: 'chat' });
        this.channel = 'chat';
        this.advance(20, 150);
        this.say('customer', 'Hi, I got your text and I am on the chat now.');
      } else {
        this.channel = 'voice';
      }
    } else {
      this.say('customer', prefix + opener);
      if (this.channel === 'chat' && rng.chance(0.12)) {
        this.advance(5, 40);
        const name = rng.pick(t.imageNames);
        this.say('customer', 'Here is a picture.', {
          kind: 'image',
          attachment: { name, mimeType: name.endsWith('.png') ? 'image/png' : 'image/jpeg', sizeBytes: rng.int(40_000, 3_000_000) },
        });
      }
    }

    // The first wait: log-normal around 50 s; about a fifth of contacts wait over two minutes.
    const plannedWait = Math.min(1800, Math.max(5, Math.round(50 * Math.exp(1.1 * rng.normal()))));
    let firstReply = this.created + plannedWait * 1000;
    if (firstReply <= this.time + 3000) firstReply = this.time + rng.int(3000, 20_000);
    if (firstReply - this.time > 90_000 && rng.chance(0.5)) {
      this.time += Math.round((firstReply - this.time) * 0.6);
      this.say('customer', rng.pick(t.customerStillWaiting));
    }
    const firstWaitSeconds = (firstReply - this.created) / 1000;
    const longWait = firstWaitSeconds > effects.longFirstWait.thresholdSeconds;
    const firstAssigned = Math.max(this.created, firstReply - rng.int(2000, 10_000));
    this.time = firstReply;
    this.say('csr', this.fill(rng.pick(t.csrGreetings)) + (longWait ? ` ${rng.pick(t.csrApologies)}` : ''), { csrId });

    const abandoned = rng.chance(longWait ? effects.longFirstWait.abandonIfLong : effects.longFirstWait.abandonIfShort);
    const sales = (SALES_INTENTS as readonly string[]).includes(this.intent);
    const truth: Record<string, string | number | boolean> = {
      intent: this.intent,
      'gen.tone': this.tone,
      'gen.first_wait_s': firstWaitSeconds,
    };
    const outcome: NonNullable<InteractionInput['outcome']> = { labels: truth };

    if (abandoned) {
      // The customer has gone by the time the CSR answers: the CSR's lines stay unanswered.
      this.advance(60, 120);
      this.say('csr', t.csrStillThere[0], { csrId });
      this.advance(120, 300);
      this.say('csr', t.csrStillThere[1], { csrId });
      Object.assign(outcome, { abandoned: true, resolved: false }, sales ? { converted: false } : {});
    } else {
      const early = rng.chance(effects.earlyDiagnostic.share);
      let csrMessages = 1;
      let diagnosticAt: number | undefined;
      if (early) {
        this.csr(rng.pick(t.DIAGNOSTIC_QUESTIONS), { csrId });
        diagnosticAt = ++csrMessages;
        this.customer(this.customerLine(t.customerFollowUps, t.negativeFollowUps));
      }
      if (rng.chance(0.03)) this.customer(`My email is customer${this.index}@example.com if you need it.`);
      const hesitation = sales && rng.chance(effects.discountAtHesitation.hesitationShare);
      const offerAtHesitation = hesitation && rng.chance(effects.discountAtHesitation.offerAtHesitationShare);
      const offerElsewhere = sales && !offerAtHesitation && rng.chance(effects.discountAtHesitation.offerElsewhereShare);
      const offer = () => {
        const seq = this.csr(this.fill(rng.pick(t.discountOffers)), { kind: 'offer', csrId, meta: { offer: 'discount', percent: Number(this.slots.percent) } });
        this.events.push({ type: 'offer_sent', ts: new Date(this.time).toISOString(), seq, name: `discount-${this.slots.percent}`, csrId });
      };
      if (offerElsewhere) {
        offer();
        csrMessages++;
      }
      const exchanges = rng.int(1, 4);
      for (let exchange = 0; exchange < exchanges; exchange++) {
        // Without the early question, a late one sometimes comes (3rd CSR message or later).
        const late = !early && diagnosticAt === undefined && exchange === 1 && rng.chance(0.5);
        this.csr(this.fill(late ? rng.pick(t.DIAGNOSTIC_QUESTIONS) : rng.chance(0.3) ? rng.pick(t.csrChecking) : rng.pick(t.csrWorking[this.intent])), { csrId });
        csrMessages++;
        if (late) diagnosticAt = csrMessages;
        this.customer(this.customerLine(t.customerFollowUps, t.negativeFollowUps));
      }
      if (sales) {
        if (hesitation) this.customer(this.fill(rng.pick(t.HESITATIONS)));
        if (offerAtHesitation) offer();
        const { convertIfOfferAtHesitation, convertIfOfferElsewhere, convertIfNoOffer } = effects.discountAtHesitation;
        const converted = rng.chance(offerAtHesitation ? convertIfOfferAtHesitation : offerElsewhere ? convertIfOfferElsewhere : convertIfNoOffer);
        if (converted && (offerAtHesitation || offerElsewhere)) {
          const seq = this.customer(rng.pick(t.acceptances));
          this.events.push({ type: 'offer_accepted', ts: new Date(this.time).toISOString(), seq, name: `discount-${this.slots.percent}` });
        } else {
          this.customer(rng.pick(converted ? t.purchases : t.declines));
        }
        Object.assign(outcome, { converted }, converted ? { conversion: offerAtHesitation || offerElsewhere ? 'offer_accepted' : 'purchase' } : {});
        truth['gen.hesitation'] = hesitation;
        truth['gen.offer'] = offerAtHesitation ? 'at_hesitation' : offerElsewhere ? 'elsewhere' : 'none';
      }
      const resolved = rng.chance(early ? effects.earlyDiagnostic.resolveIfEarly : effects.earlyDiagnostic.resolveIfNot);
      this.csr(rng.pick(resolved ? t.csrResolved : t.csrUnresolved), { csrId });
      this.customer(this.tone === 'negative' && rng.chance(0.5) ? rng.pick(t.negativeClosings) : rng.pick(t.customerClosings));
      this.csr(rng.pick(t.csrGoodbye), { csrId });
      const tone = effects.tone;
      const score =
        (resolved ? tone.satisfactionBaseResolved : tone.satisfactionBaseUnresolved) +
        (this.tone === 'negative' ? tone.negativeShift : this.tone === 'positive' ? tone.positiveShift : 0) +
        (longWait ? tone.longWaitShift : 0) +
        tone.noiseSd * rng.normal();
      const satisfaction = Math.min(5, Math.max(1, Math.round(score)));
      this.advance(5, 60);
      this.events.push({ type: 'rated', ts: new Date(this.time).toISOString(), data: { satisfaction } });
      Object.assign(outcome, { resolved, abandoned: false, satisfaction });
      truth['gen.early_diagnostic'] = early;
      if (diagnosticAt !== undefined) truth['gen.diagnostic_at'] = diagnosticAt;
    }
    if (ivrConverted !== undefined) truth['gen.ivr_converted'] = ivrConverted;

    const ended = this.time + rng.int(1000, 30_000);
    const id = `${this.options.idPrefix ?? `gen${this.options.seed}`}-${String(this.index + 1).padStart(7, '0')}`;
    return {
      id,
      customerId: `cust-${rng.int(1, Math.max(1, Math.round(this.options.conversations * 0.7)))}`,
      csrIds: [csrId],
      source: { channel: this.source, ...(this.source === 'app' ? { app: rng.pick(['ios', 'android']) } : {}) },
      createdAt: new Date(this.created).toISOString(),
      firstAssignedAt: new Date(firstAssigned).toISOString(),
      firstCsrReplyAt: new Date(firstReply).toISOString(),
      endedAt: new Date(ended).toISOString(),
      status: abandoned ? 'abandoned' : 'resolved',
      outcome,
      messages: this.messages,
      ...(this.events.length > 0 ? { events: this.events } : {}),
    };
  }
}
